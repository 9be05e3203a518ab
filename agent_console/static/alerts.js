// Telling an agent whose console is in a background tab that a citizen is waiting: a short two-tone
// chime made with WebAudio (no sound file to download) and a browser notification. Browsers allow sound
// only after the person has used the page, and notifications only once allowed: `prepare()` runs on a
// click (going on duty) to unlock both.
"use strict";

const DeskAlerts = (() => {
  let audio = null;

  function prepare() {
    try {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!audio && Context) audio = new Context();
      if (audio && audio.state === "suspended") audio.resume().catch(() => {});
    } catch { audio = null; }
    if ("Notification" in window && Notification.permission === "default") {
      Notification.requestPermission().catch(() => {});
    }
  }

  function chime() {
    if (!audio) return false;
    const start = audio.currentTime + 0.01;
    for (const [offset, frequency] of [[0, 880], [0.18, 1320]]) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = "sine";
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.16);
      tone.connect(gain).connect(audio.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 0.18);
    }
    return true;
  }

  function notify(title, body) {
    if (!("Notification" in window) || Notification.permission !== "granted") return false;
    try {
      const note = new Notification(title, { body, tag: "hpf-console-pool", renotify: true });
      note.onclick = () => { window.focus(); note.close(); };
      return true;
    } catch { return false; }
  }

  /** A new citizen in the queue: sound and notification only while the page is not in front. */
  function waiting(preview) {
    if (!document.hidden) return false;
    chime();
    notify("有新的市民在排队", preview ? `“${preview.slice(0, 40)}”` : "请回到坐席工作台抢接。");
    return true;
  }

  return { prepare, chime, notify, waiting };
})();
