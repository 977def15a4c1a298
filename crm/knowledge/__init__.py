"""Knowledge base (知识库): categorised articles, reviewed before agents see them."""
