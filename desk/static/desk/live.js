// A websocket that always shows current state: the server sends a full snapshot ("sync")
// on every (re)connection and whenever its relay lost events; the page replaces what it
// shows with it. While the socket is down the page is marked stale.
(function () {
  "use strict";

  class LiveSocket {
    constructor(path, handlers) {
      this.path = path;
      this.handlers = handlers;
      this.retry = 0;
      this.socket = null;
      this.closedByPage = false;
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") this.resync();
      });
    }

    url() {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      return `${scheme}//${window.location.host}${this.path}`;
    }

    connect() {
      this.handlers.onStatus("connecting");
      const socket = new WebSocket(this.url());
      this.socket = socket;
      socket.onmessage = (message) => {
        const data = JSON.parse(message.data);
        if (data.type === "sync") {
          this.retry = 0;
          this.handlers.onStatus("live");
          this.handlers.onSync(data);
        } else if (data.type === "event") {
          this.handlers.onEvent(data.event);
        }
      };
      socket.onclose = (event) => {
        if (this.closedByPage) return;
        if (event.code === 4401 || event.code === 4403) {
          this.handlers.onStatus("refused");
          return;
        }
        this.handlers.onStatus("offline");
        const delay = Math.min(10000, 500 * 2 ** this.retry++);
        window.setTimeout(() => this.connect(), delay);
      };
    }

    resync() {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify({ type: "resync" }));
      }
    }

    close() {
      this.closedByPage = true;
      if (this.socket) this.socket.close();
    }
  }

  window.LiveSocket = LiveSocket;

  // Sends a form or JSON body with the CSRF token; resolves to the daemon's reply, also
  // when the HTTP status is an error, so the page always shows what happened.
  window.postJSON = async function (url, body, asForm) {
    const token = document.querySelector("meta[name=csrf-token]").content;
    const options = { method: "POST", headers: { "X-CSRFToken": token }, credentials: "same-origin" };
    if (asForm) {
      options.body = new URLSearchParams(body);
    } else {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      return { accepted: false, code: "network", message: String(error), detail: "", data: {} };
    }
    try {
      return await response.json();
    } catch (error) {
      return {
        accepted: false,
        code: `http_${response.status}`,
        message: response.statusText,
        detail: "",
        data: {},
      };
    }
  };

  // The customer's number on a call: who called in, or whom the agent dialled.
  window.customerNumber = function (call) {
    return (call.direction === "outbound" ? call.destination : call.caller) || "";
  };

  window.formatDuration = function (seconds) {
    if (seconds == null || Number.isNaN(seconds) || seconds < 0) return "–";
    const total = Math.floor(seconds);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const two = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
  };
})();
