// A tone and a desktop notification on each new lock, as traders' platforms do; only when the
// daemon's config asks for it (api.notify_on_lock, off by default: the stream's snapshot says).
// Browsers allow sound and the notification permission only after a gesture: the first click on
// the page arms both. Locks already there when the page opens are not announced.
const seen = new Set();
let primed = false;
let enabled = false;
let audio = null;

export function configure(settings) {
  enabled = !!(settings && settings.notify_on_lock);
}

document.addEventListener("click", () => {
  if (!enabled) return;
  try {
    audio = audio || new AudioContext();
    audio.resume();
  } catch (err) { console.warn("no sound", err); }
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
});

function tone() {
  if (!audio) return;
  const osc = audio.createOscillator(), gain = audio.createGain();
  osc.frequency.value = 880;
  gain.gain.setValueAtTime(0.2, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
  osc.connect(gain).connect(audio.destination);
  osc.start();
  osc.stop(audio.currentTime + 0.6);
}

function announce(account, lock) {
  document.body.dataset.notified = String(Number(document.body.dataset.notified || 0) + 1);
  try { tone(); } catch (err) { console.warn("no sound", err); }
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(`${account.name}: LOCKED (${lock.rule})`, { body: lock.reason, tag: `lock-${lock.id}` });
  }
}

// Every account's current locks: announce those not seen before (after the first look).
export function noteLocks(accounts) {
  for (const a of accounts) {
    for (const lock of a.locks || []) {
      const key = `${a.id}:${lock.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (primed && enabled) announce(a, lock);
    }
  }
  primed = true;
}
