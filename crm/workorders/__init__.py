"""Work orders (工单): requests that travel through admin-defined workflows to be handled."""
