// The agent desk: state from the websocket, actions through the daemon's command stream.
// Every reply of the daemon is shown; a rejection is never swallowed.
(function () {
  "use strict";

  window.deskApp = function () {
    const config = JSON.parse(document.getElementById("desk-config").textContent);
    const text = config.text;
    return {
      config,
      text,
      connection: "connecting",
      agent: { state: "logged_out", reason: "", since: null, extension: config.phone.extension },
      call: null,
      // The call this seat last let go: it may go on (a survey, an outside number it was
      // transferred to) and its updates still name this agent, but it is not this seat's.
      released: "",
      pop: null,
      toasts: [],
      lastReply: null,
      pending: "",
      now: Date.now() / 1000,
      extension: config.phone.extension,
      busyReason: config.busyReasons.length ? config.busyReasons[0].code : "",
      transferKind: "queue",
      transferTarget: "",
      dialNumber: "",
      consultStarted: false,
      softphone: null,
      phoneStatus: config.phone.mode,
      live: null,

      init() {
        this.live = new LiveSocket("/ws/desk/", {
          onStatus: (status) => (this.connection = status),
          onSync: (data) => this.applySync(data),
          onEvent: (event) => this.applyEvent(event),
        });
        this.live.connect();
        window.setInterval(() => (this.now = Date.now() / 1000), 1000);
        if (config.phone.mode === "softphone" && window.DeskSoftphone) {
          this.softphone = new DeskSoftphone(config.phone, (status) => (this.phoneStatus = status));
          this.softphone.start();
        }
      },

      get stale() {
        return this.connection !== "live";
      },
      stateLabel(state) {
        return text.states[state] || state;
      },
      callStateLabel(state) {
        return text.callStates[state] || state;
      },
      get timeInState() {
        return this.agent.since ? formatDuration(this.now - this.agent.since) : "–";
      },
      get callDuration() {
        if (!this.call) return "–";
        const start = parseFloat(this.call.bridged_at || this.call.started_at);
        return start ? formatDuration(this.now - start) : "–";
      },
      get loggedIn() {
        return this.agent.state !== "logged_out";
      },
      get onCall() {
        return this.call && ["bridged", "held", "conference", "offered"].includes(this.call.state);
      },
      // A consultation is on while the daemon holds the call in "transferring" after a
      // consult this page started (a reload during one shows it from the call's state).
      get consulting() {
        return Boolean(this.call && this.call.state === "transferring" && (this.consultStarted || !this.pending));
      },
      get held() {
        return this.call && this.call.state === "held";
      },
      get transferOptions() {
        return config.targets[this.transferKind] || [];
      },

      applySync(data) {
        this.agent = data.agent;
        this.call = data.call && data.call.uuid ? data.call : null;
        this.pop = data.pop;
        if (this.call) this.loadCard(customerNumber(this.call), this.call.uuid);
      },

      applyEvent(event) {
        if (event.type === "agent" && event.agent_id === config.agentId) {
          this.agent = {
            ...this.agent,
            state: event.state,
            reason: event.reason || "",
            since: event.at,
            call_uuid: event.call_uuid || "",
          };
          // Off the phone (wrap-up after a hang-up or a transfer, ready, busy): the call
          // left this seat even if it goes on elsewhere.
          if (!["offered", "talking"].includes(event.state) && this.call) {
            this.released = this.call.uuid;
            this.prefillRecord(this.call);
            this.call = null;
            this.consultStarted = false;
          }
        } else if (event.type === "call" || event.type === "call_offered") {
          // A call put back in a queue (blind transfer to a queue) still names the agent it
          // left, and the daemon may publish that update after the agent's wrap-up; a queued
          // call is at nobody's seat, so it never becomes this page's current call again.
          if (!event.call || event.call.state === "queued") return;
          // Unless the call comes back to this seat (offered again, taken over).
          const back = this.agent.call_uuid === event.call.uuid
            && ["offered", "talking"].includes(this.agent.state);
          if (event.call.uuid === this.released && !back) return;
          // A call the agent dialled has no screen pop: its first update shows the customer.
          const fresh = !this.call || this.call.uuid !== event.call.uuid;
          if (fresh && event.call.direction === "outbound") {
            this.loadCard(customerNumber(event.call), event.call.uuid);
            this.prefillRecord(event.call);
          }
          this.call = event.call;
        } else if (event.type === "call_ended") {
          if (this.call && event.call.uuid === this.call.uuid) {
            this.call = null;
            this.consultStarted = false;
            this.prefillRecord(event.call);
          }
        } else if (event.type === "screen_pop") {
          this.pop = event;
          this.toast("call", `${text.incomingCall} ${event.caller}`, event.queue || "");
          this.loadCard(event.caller, event.call_uuid);
          this.prefillRecord({ uuid: event.call_uuid, caller: event.caller, customer_id: event.customer_id });
        }
      },

      loadCard(number, callUuid) {
        const url = `${config.urls.card}?number=${encodeURIComponent(number || "")}&call_uuid=${encodeURIComponent(callUuid || "")}`;
        htmx.ajax("GET", url, { target: "#customer-card", swap: "innerHTML" });
      },

      prefillRecord(call) {
        const form = document.getElementById("record-form");
        if (!form) return;
        form.querySelector("[name=call_uuid]").value = call.uuid || "";
        form.querySelector("[name=caller_number]").value = customerNumber(call);
        form.querySelector("[name=customer]").value = call.customer_id || "";
      },

      toast(kind, title, body) {
        const id = Math.random().toString(36).slice(2);
        this.toasts.push({ id, kind, title, body });
        window.setTimeout(() => (this.toasts = this.toasts.filter((t) => t.id !== id)), kind === "error" ? 12000 : 8000);
      },

      async send(action, args) {
        this.pending = action;
        const reply = await postJSON(`${config.urls.command}${action}/`, args || {});
        this.pending = "";
        this.lastReply = { action, ...reply };
        if (reply.accepted) {
          this.toast("ok", text.actions[action] || action, reply.message);
        } else {
          this.toast("error", `${text.actions[action] || action}: ${reply.message}`, reply.detail || reply.code);
        }
        return reply;
      },

      login() {
        return this.send("login", { extension: this.extension, ready: false, reason: "login" });
      },
      answer() {
        if (this.softphone && this.softphone.ringing()) {
          this.softphone.answer();
          this.toast("ok", text.actions.answer, text.answeredOnSoftphone);
          return null;
        }
        return this.send("answer");
      },
      transfer() {
        return this.send("transfer", { kind: this.transferKind, target: this.transferTarget });
      },
      async consult() {
        const reply = await this.send("consult", { kind: this.transferKind, target: this.transferTarget });
        if (reply.accepted) this.consultStarted = true;
      },
      async consultComplete() {
        const reply = await this.send("consult_complete");
        if (reply.accepted) this.consultStarted = false;
      },
      async consultCancel() {
        const reply = await this.send("consult_cancel");
        if (reply.accepted) this.consultStarted = false;
      },
      conference() {
        return this.send("conference", { kind: this.transferKind, target: this.transferTarget });
      },
      dial(number) {
        return this.send("dial", { number: number || this.dialNumber });
      },
    };
  };

  // The customer card's click-to-dial buttons live in HTMX partials: they ask the desk.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-dial]");
    if (!button) return;
    const root = document.querySelector("[x-data]");
    if (root && root._x_dataStack) root._x_dataStack[0].dial(button.dataset.dial);
  });
})();
