// The talk button: a WebRTC voice call to the service, beside the text chat (which never depends on it).
// The service answers the SDP offer over HTTP, listens, and speaks the bot's answers on the same call.
"use strict";

(() => {
  const TOKEN_KEY = "hpf.visitor"; // the chat page's signed visitor token: the same citizen
  const row = document.querySelector(".composer__row");
  const meta = document.querySelector(".composer__meta");
  if (!row || !meta || !window.fetch) return;

  const style = document.createElement("link");
  style.rel = "stylesheet";
  style.href = "/static/voice.css";
  document.head.append(style);

  const button = document.createElement("button");
  button.type = "button";
  button.id = "talk";
  button.className = "composer__talk";
  button.textContent = "语音";
  button.setAttribute("aria-pressed", "false");
  button.setAttribute("aria-label", "语音对话");
  button.setAttribute("aria-describedby", "voice-status");
  row.append(button);
  const status = document.createElement("p");
  status.id = "voice-status";
  status.className = "voice-status";
  status.setAttribute("role", "status");
  meta.before(status);

  let setUp = null;  // null until the service said; then true, or the reason it is not
  let call = null;   // {pc, stream, id, audio}

  function say(text, state) {
    status.textContent = text;
    status.dataset.state = state || "info";
  }

  async function checkSetUp() {
    try {
      const response = await fetch("/api/v1/voice/status");
      const body = await response.json();
      setUp = body.speech_input ? true : body.message || "语音输入尚未开通，您可以继续用文字提问。";
    } catch {
      setUp = "暂时无法连接语音服务，您可以继续用文字提问。";
    }
    button.dataset.ready = setUp === true ? "true" : "false";
    button.title = setUp === true ? "开始语音对话" : setUp;
  }

  function waitForCandidates(pc) {
    // No trickle ICE over plain HTTP: send the offer once its host candidates are in it.
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000);
    });
  }

  function onEvent(raw) {
    let event;
    try { event = JSON.parse(raw); } catch { return; }
    if (event.type === "heard") say(`您说：${event.text}`);
    else if (event.type === "answer") say(`智能客服：${event.text}`);
    else if (event.type === "unheard") say("没有听清，请再说一遍。");
  }

  async function start() {
    const token = localStorage.getItem(TOKEN_KEY);
    if (!token) { say("页面正在连接，请稍后再试。", "error"); return; }
    if (!navigator.mediaDevices || !window.RTCPeerConnection) {
      say("当前浏览器不支持语音通话，您可以继续用文字提问。", "error");
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    } catch {
      say("无法使用麦克风：请在浏览器设置中允许本页面使用麦克风。", "error");
      return;
    }
    const pc = new RTCPeerConnection({ iceServers: [] });
    const audio = new Audio();
    audio.autoplay = true;
    call = { pc, stream, audio, id: null };
    button.setAttribute("aria-pressed", "true");
    button.textContent = "挂断";
    say("正在接通…");
    stream.getTracks().forEach((track) => pc.addTrack(track, stream));
    pc.createDataChannel("events").addEventListener("message", (e) => onEvent(e.data));
    pc.addEventListener("track", (e) => { audio.srcObject = e.streams[0] || new MediaStream([e.track]); });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "connected") say("通话中，请直接说出您的问题。");
      if (pc.connectionState === "failed") stop("语音通话已断开，您可以继续用文字提问。");
    });
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await waitForCandidates(pc);
      const response = await fetch("/api/v1/voice/web/offer", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ visitor_token: token, sdp: pc.localDescription.sdp, type: "offer" }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.message || "语音通话连接失败，请稍后再试，或用文字提问。");
      if (call && call.pc === pc) call.id = body.call_id;
      await pc.setRemoteDescription({ type: "answer", sdp: body.sdp });
    } catch (error) {
      stop(error.message || "语音通话连接失败，请稍后再试，或用文字提问。");
    }
  }

  function stop(message) {
    if (!call) return;
    const { pc, stream, audio, id } = call;
    call = null;
    if (id) fetch(`/api/v1/voice/calls/${encodeURIComponent(id)}`, { method: "DELETE" }).catch(() => {});
    stream.getTracks().forEach((track) => track.stop());
    audio.srcObject = null;
    pc.close();
    button.setAttribute("aria-pressed", "false");
    button.textContent = "语音";
    say(message || "", message ? "error" : "info");
  }

  button.addEventListener("click", async () => {
    if (call) { stop(""); return; }
    if (setUp !== true) await checkSetUp(); // asked again: the centre may have set it up since
    if (setUp !== true) { say(setUp, "error"); return; }
    start();
  });
  window.addEventListener("pagehide", () => stop(""));
  checkSetUp();
})();
