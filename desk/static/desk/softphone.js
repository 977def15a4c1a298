// The in-page softphone: JsSIP registers the agent's extension to FreeSWITCH over a SIP
// WebSocket (SOFTPHONE_WEBSOCKET_URL). The daemon rings the extension like any phone; the
// page answers the ringing session itself and plays the far end's audio.
(function () {
  "use strict";

  class DeskSoftphone {
    constructor(phone, onStatus) {
      this.phone = phone;
      this.onStatus = onStatus;
      this.session = null;
      this.ua = null;
      this.audio = new Audio();
      this.audio.autoplay = true;
    }

    start() {
      if (!this.phone.websocket_url || !window.JsSIP) {
        this.onStatus("unconfigured");
        return;
      }
      const domain = this.phone.sip_domain || window.location.hostname;
      this.ua = new JsSIP.UA({
        sockets: [new JsSIP.WebSocketInterface(this.phone.websocket_url)],
        uri: `sip:${this.phone.extension}@${domain}`,
        password: this.phone.password,
        register: true,
      });
      this.ua.on("registered", () => this.onStatus("registered"));
      this.ua.on("unregistered", () => this.onStatus("unregistered"));
      this.ua.on("registrationFailed", () => this.onStatus("registration_failed"));
      this.ua.on("disconnected", () => this.onStatus("disconnected"));
      this.ua.on("newRTCSession", ({ session, originator }) => {
        if (originator !== "remote") return;
        this.session = session;
        session.on("ended", () => (this.session = null));
        session.on("failed", () => (this.session = null));
        session.on("peerconnection", ({ peerconnection }) => {
          peerconnection.addEventListener("track", (event) => {
            this.audio.srcObject = event.streams[0];
          });
        });
      });
      this.ua.start();
    }

    ringing() {
      return Boolean(this.session && this.session.isInProgress());
    }

    answer() {
      if (this.ringing()) this.session.answer({ mediaConstraints: { audio: true, video: false } });
    }
  }

  window.DeskSoftphone = DeskSoftphone;
})();
