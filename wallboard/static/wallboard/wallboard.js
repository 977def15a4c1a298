// The supervisor wallboard: a snapshot on every (re)connection, then live events.
(function () {
  "use strict";

  const STATE_COLORS = {
    ready: "#2f9e55", busy: "#e08a00", offered: "#d4b000", talking: "#0b6bcb",
    wrap_up: "#8454c4", logged_out: "#9aa5b1",
  };

  window.wallboardApp = function () {
    const config = JSON.parse(document.getElementById("wallboard-config").textContent);
    const text = config.text;
    return {
      text,
      connection: "connecting",
      agents: [],
      queues: [],
      calls: {},
      now: Date.now() / 1000,
      syncedAt: Date.now() / 1000,
      extension: config.ownExtension,
      lastReply: null,
      charts: null,

      init() {
        this.live = new LiveSocket("/ws/wallboard/", {
          onStatus: (status) => (this.connection = status),
          onSync: (data) => this.applySync(data),
          onEvent: (event) => this.applyEvent(event),
        });
        this.live.connect();
        window.setInterval(() => (this.now = Date.now() / 1000), 1000);
        if (window.echarts) {
          this.charts = {
            states: echarts.init(document.getElementById("chart-states")),
            queues: echarts.init(document.getElementById("chart-queues")),
          };
          window.addEventListener("resize", () => Object.values(this.charts).forEach((c) => c.resize()));
        }
      },

      get stale() {
        return this.connection !== "live";
      },
      get totalWaiting() {
        return this.queues.reduce((sum, q) => sum + (q.waiting || 0), 0);
      },
      count(state) {
        return this.agents.filter((a) => a.state === state).length;
      },
      // An agent on a call they dialled is "busy" with the system reason "outbound"
      // (cti/dialout.py): on a call, as far as the tiles go.
      onDialledCall(agent) {
        return agent.state === "busy" && agent.reason === "outbound";
      },
      get onCallCount() {
        return this.agents.filter((a) => a.state === "talking" || a.state === "offered" || this.onDialledCall(a)).length;
      },
      get busyOrWrapUpCount() {
        return this.agents.filter((a) => (a.state === "busy" && !this.onDialledCall(a)) || a.state === "wrap_up").length;
      },
      stateLabel(state) {
        return text.states[state] || state;
      },
      directionLabel(direction) {
        return text.directions[direction] || direction;
      },
      // Oldest first: the call that has lasted longest is on top.
      get callList() {
        return Object.values(this.calls).sort((a, b) => parseFloat(a.started_at) - parseFloat(b.started_at));
      },
      agentName(agentId) {
        const agent = this.agents.find((a) => String(a.id) === String(agentId));
        return agent ? agent.name : "–";
      },
      queueName(code) {
        const queue = this.queues.find((q) => q.code === code);
        return queue ? queue.name : code || "–";
      },
      callText(agent) {
        const call = Object.values(this.calls).find((c) => String(c.agent_id) === String(agent.id));
        if (!call) return "–";
        const state = text.callStates[call.state] || call.state;
        return `${this.directionLabel(call.direction)} ${customerNumber(call)} · ${state}`;
      },

      concerns(call) {
        const agentId = String(call.agent_id || "");
        return (agentId !== "" && this.agents.some((a) => String(a.id) === agentId))
          || (!!call.queue && this.queues.some((q) => q.code === call.queue));
      },

      applySync(data) {
        this.agents = data.agents;
        this.queues = data.queues;
        this.calls = Object.fromEntries(data.calls.map((c) => [c.uuid, c]));
        this.syncedAt = Date.now() / 1000;
        this.now = this.syncedAt;
        this.draw();
      },

      applyEvent(event) {
        if (event.type === "agent") {
          const agent = this.agents.find((a) => a.id === event.agent_id);
          if (!agent) return;
          agent.state = event.state;
          agent.reason = event.reason || "";
          agent.since = event.at;
          if (event.old === "talking" && event.state !== "talking") agent.calls_today += 1;
        } else if (event.type === "call") {
          // A call moved to another group's queue or agent gets one last update here.
          if (this.concerns(event.call)) this.calls[event.call.uuid] = event.call;
          else delete this.calls[event.call.uuid];
        } else if (event.type === "call_ended") {
          const call = this.calls[event.call.uuid];
          if (call && call.bridged_at) {
            const agent = this.agents.find((a) => String(a.id) === String(call.agent_id));
            if (agent) agent.talk_today += Math.max(0, event.at - parseFloat(call.bridged_at));
          }
          delete this.calls[event.call.uuid];
        } else if (event.type === "queue") {
          const queue = this.queues.find((q) => q.code === event.queue);
          if (!queue) return;
          queue.waiting = event.waiting;
          queue.longest_wait = event.longest_wait - (Date.now() / 1000 - this.syncedAt);
        } else if (event.type === "call_left_queue") {
          // Abandon and service-level figures are computed from stored facts: refresh them.
          window.setTimeout(() => this.live.resync(), 1500);
        }
        this.draw();
      },

      draw() {
        if (!this.charts) return;
        const states = Object.keys(STATE_COLORS);
        this.charts.states.setOption({
          animation: false,
          title: { text: text.agentsByState, textStyle: { fontSize: 13 } },
          tooltip: {},
          series: [{
            type: "pie", radius: ["40%", "70%"], top: 20,
            data: states.map((s) => ({ name: this.stateLabel(s), value: this.count(s), itemStyle: { color: STATE_COLORS[s] } }))
              .filter((d) => d.value > 0),
          }],
        });
        this.charts.queues.setOption({
          animation: false,
          title: { text: text.waitingCalls, textStyle: { fontSize: 13 } },
          tooltip: {},
          grid: { left: 40, right: 10, top: 40, bottom: 30 },
          xAxis: { type: "category", data: this.queues.map((q) => q.name) },
          yAxis: { type: "value", minInterval: 1 },
          series: [{ type: "bar", data: this.queues.map((q) => q.waiting), itemStyle: { color: "#0b6bcb" } }],
        });
      },

      async act(agent, action, label) {
        const body = action === "listen" || action === "whisper" || action === "barge" ? { extension: this.extension } : {};
        const reply = await postJSON(`${config.urls.act}${agent.id}/${action}/`, body, true);
        this.lastReply = { ...reply, label, agent: agent.name };
      },
    };
  };
})();
