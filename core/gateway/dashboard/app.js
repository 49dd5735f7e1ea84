/*
 * Warden dashboard.
 *
 * Plain JavaScript, no build step, no external resources. The gateway's
 * Content-Security-Policy allows only this file as script and app.css as
 * style, so there are no inline handlers or style attributes, and every
 * piece of server data reaches the page through textContent.
 *
 * Authentication uses the gateway's HttpOnly cookies (login with
 * useCookies): this script never sees a token. Browsers send cookies to
 * every port of a host, so a cookie alone is not enough: the login also
 * returns a binding for the session, kept in localStorage (which browsers
 * do keep per origin, port included) and sent with every request in the
 * X-Warden-Binding header and in the WebSocket's first frame. A page on
 * another port of 127.0.0.1 may receive the cookies; it never has the
 * binding. localStorage holds three values: the random device id, the
 * state of "Remember me" and the session's binding.
 */
"use strict";

(function () {
  const STORE_DEVICE = "warden.deviceId";
  const STORE_REMEMBER = "warden.rememberMe";
  const STORE_BINDING = "warden.binding";
  const ROLE_RANK = { viewer: 1, agent: 2, operator: 3, admin: 4 };

  // ---- small DOM helpers ----

  const $ = (id) => document.getElementById(id);

  function show(el, on) {
    (typeof el === "string" ? $(el) : el).hidden = !on;
  }

  // el builds an element with attributes and children (strings become
  // text nodes, never HTML).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k === "dataset") Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function setError(id, err) {
    const p = $(id);
    if (!err) {
      p.textContent = "";
      p.hidden = true;
      return;
    }
    p.textContent = typeof err === "string" ? err : describeError(err);
    p.hidden = false;
  }

  function describeError(err) {
    if (err instanceof ApiError) {
      if (err.code === "RATE_LIMITED") {
        const s = err.retryAfter || 0;
        return "Too many failed attempts. Wait " + s + " second" + (s === 1 ? "" : "s") + " before trying again.";
      }
      if (err.code === "NETWORK") return "The gateway cannot be reached. Check that warden is running.";
      const m = err.message || err.code;
      return m.charAt(0).toUpperCase() + m.slice(1);
    }
    return String(err && err.message ? err.message : err);
  }

  function formatTime(s) {
    if (!s) return "";
    const d = new Date(s);
    if (isNaN(d.getTime()) || d.getFullYear() < 1971) return "";
    return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  // busy disables a form's buttons while a request runs.
  async function busy(form, fn) {
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      return await fn();
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  // ---- local storage ----

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch { return null; }
  }

  function storageSet(key, value) {
    try { window.localStorage.setItem(key, value); } catch { /* storage disabled: the value lasts this page only */ }
  }

  function randomId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    const b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // deviceId is a random id for this browser, kept across sessions so that
  // the gateway can tell devices apart.
  function deviceId() {
    let id = storageGet(STORE_DEVICE);
    if (!id) {
      id = randomId();
      storageSet(STORE_DEVICE, id);
    }
    return id;
  }

  // ---- API ----

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message || code);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter || 0;
    }
  }

  // request sends one request and decodes the JSON answer; errors become
  // ApiError with the server's code and message.
  async function request(method, path, body) {
    const init = { method, credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } };
    const binding = storageGet(STORE_BINDING);
    if (binding) init.headers["X-Warden-Binding"] = binding;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch {
      throw new ApiError(0, "NETWORK", "the gateway cannot be reached");
    }
    let data = null;
    if (res.status !== 204) {
      const text = await res.text();
      if (text) {
        try { data = JSON.parse(text); } catch { data = null; }
      }
    }
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw new ApiError(res.status, e.code || "HTTP_" + res.status, e.message || res.statusText, e.retryAfter);
    }
    return data;
  }

  let refreshing = null;

  // refreshSession trades the refresh cookie for new cookies. The gateway
  // rotates refresh tokens and treats a second use of one as theft, so only
  // one refresh may run at a time: in this page (one shared promise) and
  // across tabs (a Web Lock, where available; a tab that waited first checks
  // whether another tab's refresh already made its cookies valid).
  function refreshSession() {
    if (refreshing) return refreshing;
    const attempt = async (waited) => {
      if (waited) {
        try {
          await request("GET", "/api/v1/me");
          return true;
        } catch (err) {
          if (!(err instanceof ApiError) || err.status !== 401) throw err;
        }
      }
      try {
        await request("POST", "/api/v1/auth/refresh");
        return true;
      } catch (err) {
        if (err instanceof ApiError && (err.status === 401 || err.status === 400)) return false;
        throw err;
      }
    };
    const run = async () => {
      if (!navigator.locks || typeof navigator.locks.request !== "function") return attempt(false);
      return navigator.locks.request("warden-refresh", { ifAvailable: true }, (lock) => {
        if (lock) return attempt(false);
        // Another tab is refreshing: wait for it, then check before using
        // the refresh cookie it has probably replaced already.
        return navigator.locks.request("warden-refresh", () => attempt(true));
      });
    };
    refreshing = run().finally(() => { refreshing = null; });
    return refreshing;
  }

  // authed is request for routes that need the session: a 401 (the access
  // cookie expired) triggers one refresh and one retry; when that fails too
  // the session is over and the login form comes back.
  async function authed(method, path, body) {
    try {
      return await request(method, path, body);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      let ok = false;
      try { ok = await refreshSession(); } catch { ok = false; }
      if (ok) {
        try {
          return await request(method, path, body);
        } catch (err2) {
          if (err2 instanceof ApiError && err2.status === 401) sessionEnded();
          throw err2;
        }
      }
      sessionEnded();
      throw err;
    }
  }

  // ---- state and views ----

  const state = {
    me: null,         // the /api/v1/me answer while logged in
    pending: null,    // the login request waiting for a second factor
    useRecovery: false,
    auditLoaded: false,
  };

  function notice(text, kind) {
    const n = $("notice");
    n.textContent = text || "";
    n.className = "notice" + (kind ? " notice-" + kind : "");
    n.hidden = !text;
  }

  function showView(name) {
    show("loading", false);
    show("setup-view", name === "setup");
    show("login-view", name === "login");
    show("main-view", name === "main");
    const inMain = name === "main";
    show("user-info", inMain);
    show("logout-button", inMain);
    show("live-status", inMain);
  }

  function showSetup() {
    state.me = null;
    stopLive();
    showView("setup");
    $("setup-code").focus();
  }

  // showLogin returns to the login form with an optional message; the
  // "Remember me" checkbox keeps its stored state.
  function showLogin(message, kind) {
    state.me = null;
    storageSet(STORE_BINDING, "");
    state.pending = null;
    state.auditLoaded = false;
    stopLive();
    clearMain();
    notice(message || "", kind || "info");
    $("login-password").value = "";
    $("totp-code").value = "";
    $("recovery-code").value = "";
    restoreRemember();
    setError("login-error", null);
    setError("second-factor-error", null);
    show("login-form", true);
    show("second-factor-form", false);
    showView("login");
    ($("login-username").value ? $("login-password") : $("login-username")).focus();
  }

  // sessionEnded is the one way out when the gateway ends the session
  // (revoked, logged out elsewhere, password changed, expired).
  function sessionEnded(reason) {
    if (!state.me) return;
    const why = reason && reason !== "session ended" ? " (" + reason + ")" : "";
    showLogin("Your session ended" + why + ". Log in again.", "warn");
  }

  function clearMain() {
    $("sessions-body").replaceChildren();
    $("audit-body").replaceChildren();
    $("recovery-codes").replaceChildren();
    show("recovery-codes-box", false);
    show("twofa-enroll", false);
    show("twofa-setup-form", false);
    $("totp-secret").textContent = "";
    $("totp-qr").removeAttribute("src");
    for (const id of ["twofa-password", "twofa-code", "current-password", "new-password", "new-password-confirm"]) $(id).value = "";
    for (const id of ["twofa-error", "password-error", "sessions-error", "audit-error"]) setError(id, null);
    show("verify-status", false);
    $("sessions-all").checked = false;
  }

  function hasRole(min) {
    return !!state.me && (ROLE_RANK[state.me.role] || 0) >= ROLE_RANK[min];
  }

  function enterMain(me) {
    clearMain();
    state.me = me;
    $("user-name").textContent = me.name;
    $("user-role").textContent = me.role;
    // Password managers pair the password fields with this account.
    document.querySelectorAll("input.account-name").forEach((i) => { i.value = me.name; });
    show("tab-audit", hasRole("operator"));
    show("sessions-all-wrap", hasRole("admin"));
    showView("main");
    renderAccount();
    startLive();
    route();
  }

  // loadMe asks who the caller is; a 401 gets one refresh and one retry.
  async function loadMe() {
    try {
      return await request("GET", "/api/v1/me");
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
    }
    if (!(await refreshSession())) return null;
    try {
      return await request("GET", "/api/v1/me");
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  }

  async function start() {
    restoreRemember();
    try {
      const setup = await request("GET", "/api/v1/setup");
      if (setup && setup.needed) {
        showSetup();
        return;
      }
      const me = await loadMe();
      if (me && me.kind === "user") enterMain(me);
      else showLogin();
    } catch (err) {
      showLogin();
      notice(describeError(err), "error");
    }
  }

  // ---- setup ----

  $("setup-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const body = {
      code: $("setup-code").value.trim(),
      username: $("setup-username").value.trim(),
      password: $("setup-password").value,
    };
    if (!body.code || !body.username || !body.password) {
      setError("setup-error", "Enter the setup code, a username and a password.");
      return;
    }
    busy(form, async () => {
      try {
        await request("POST", "/api/v1/setup", body);
        setError("setup-error", null);
        $("setup-password").value = "";
        $("login-username").value = body.username;
        showLogin("Administrator " + body.username + " created. Log in to continue.", "ok");
      } catch (err) {
        setError("setup-error", err);
      }
    });
  });

  // ---- login ----

  function restoreRemember() {
    $("remember-me").checked = storageGet(STORE_REMEMBER) === "true";
  }

  $("remember-me").addEventListener("change", (ev) => {
    storageSet(STORE_REMEMBER, ev.currentTarget.checked ? "true" : "false");
  });

  async function submitLogin(body, errorId) {
    try {
      const res = await request("POST", "/api/v1/auth/login", body);
      storageSet(STORE_BINDING, (res && res.binding) || "");
    } catch (err) {
      if (err instanceof ApiError && err.code === "SECOND_FACTOR_REQUIRED") {
        state.pending = body;
        showSecondFactor(false);
        return;
      }
      setError(errorId, err);
      return;
    }
    state.pending = null;
    notice("");
    const me = await loadMe().catch(() => null);
    if (!me) {
      setError(errorId, "Logged in, but the session cookie was not accepted. Are cookies blocked?");
      return;
    }
    enterMain(me);
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const body = {
      username: $("login-username").value.trim(),
      password: $("login-password").value,
      rememberMe: $("remember-me").checked,
      deviceId: deviceId(),
      useCookies: true,
    };
    if (!body.username || !body.password) {
      setError("login-error", "Enter your username and password.");
      return;
    }
    setError("login-error", null);
    notice("");
    busy(form, () => submitLogin(body, "login-error"));
  });

  function showSecondFactor(recovery) {
    state.useRecovery = recovery;
    show("login-form", false);
    show("second-factor-form", true);
    show("totp-step", !recovery);
    show("recovery-step", recovery);
    $("second-factor-toggle").textContent = recovery ? "Use a code from the authenticator app" : "Use a recovery code instead";
    setError("second-factor-error", null);
    (recovery ? $("recovery-code") : $("totp-code")).focus();
  }

  $("second-factor-toggle").addEventListener("click", () => showSecondFactor(!state.useRecovery));

  $("second-factor-cancel").addEventListener("click", () => {
    state.pending = null;
    showLogin();
  });

  $("second-factor-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!state.pending) {
      showLogin();
      return;
    }
    const form = ev.currentTarget;
    const body = Object.assign({}, state.pending);
    delete body.totp;
    delete body.recoveryCode;
    if (state.useRecovery) {
      body.recoveryCode = $("recovery-code").value.trim();
      if (!body.recoveryCode) {
        setError("second-factor-error", "Enter one of your recovery codes.");
        return;
      }
    } else {
      body.totp = $("totp-code").value.replace(/\s+/g, "");
      if (!/^[0-9]{6}$/.test(body.totp)) {
        setError("second-factor-error", "Enter the 6-digit code.");
        return;
      }
    }
    setError("second-factor-error", null);
    busy(form, async () => {
      await submitLogin(body, "second-factor-error");
      $("totp-code").value = "";
      $("recovery-code").value = "";
    });
  });

  // ---- logout ----

  $("logout-button").addEventListener("click", async (ev) => {
    const b = ev.currentTarget;
    b.disabled = true;
    stopLive();
    try {
      // authed: an expired access cookie is refreshed first, so that the
      // session really ends on the gateway.
      await authed("POST", "/api/v1/auth/logout");
      showLogin("You are logged out.", "ok");
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) showLogin("You are logged out.", "ok");
      else {
        notice(describeError(err), "error");
        startLive();
      }
    } finally {
      b.disabled = false;
    }
  });

  // ---- tabs ----

  const TABS = ["account", "sessions", "audit"];

  function route() {
    if (!state.me) return;
    let tab = (location.hash || "").replace(/^#/, "");
    if (!TABS.includes(tab) || (tab === "audit" && !hasRole("operator"))) tab = "account";
    for (const t of TABS) {
      show("panel-" + t, t === tab);
      const link = $("tab-" + t);
      link.classList.toggle("active", t === tab);
      if (t === tab) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (tab === "sessions") loadSessions();
    if (tab === "audit" && !state.auditLoaded) {
      state.auditLoaded = true;
      searchAudit();
    }
  }

  window.addEventListener("hashchange", route);

  // ---- account: two-factor ----

  function renderAccount() {
    const u = state.me && state.me.user;
    if (!u) return;
    const s = $("twofa-status");
    s.replaceChildren();
    if (u.twoFactor) {
      s.append(el("span", { class: "badge badge-ok", text: "on" }), " Two-factor authentication is on. ",
        el("span", { id: "recovery-left", text: u.recoveryCodesLeft + " recovery code" + (u.recoveryCodesLeft === 1 ? "" : "s") + " left." }));
    } else {
      s.append(el("span", { class: "badge badge-warn", text: "off" }), " Two-factor authentication is off. Turn it on to protect this account with a code from an authenticator app.");
    }
    show("twofa-setup-start", !u.twoFactor && $("twofa-setup-form").hidden && $("twofa-enroll").hidden);
  }

  async function reloadMe() {
    try {
      const me = await authed("GET", "/api/v1/me");
      if (state.me && me) {
        state.me = me;
        renderAccount();
      }
    } catch { /* authed has handled a lost session; keep the old status otherwise */ }
  }

  $("twofa-setup-start").addEventListener("click", () => {
    setError("twofa-error", null);
    show("recovery-codes-box", false);
    show("twofa-setup-form", true);
    show("twofa-setup-start", false);
    $("twofa-password").focus();
  });

  function cancelEnroll() {
    show("twofa-setup-form", false);
    show("twofa-enroll", false);
    $("twofa-password").value = "";
    $("twofa-code").value = "";
    $("totp-secret").textContent = "";
    $("totp-qr").removeAttribute("src");
    setError("twofa-error", null);
    renderAccount();
  }

  $("twofa-setup-cancel").addEventListener("click", cancelEnroll);
  $("twofa-enroll-cancel").addEventListener("click", cancelEnroll);

  $("twofa-setup-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const password = $("twofa-password").value;
    if (!password) {
      setError("twofa-error", "Enter your password.");
      return;
    }
    busy(form, async () => {
      try {
        const r = await authed("POST", "/api/v1/auth/2fa/setup", { password });
        $("twofa-password").value = "";
        setError("twofa-error", null);
        if (typeof r.qrCode === "string" && r.qrCode.startsWith("data:image/png;base64,")) $("totp-qr").src = r.qrCode;
        $("totp-secret").textContent = r.secret;
        show("twofa-setup-form", false);
        show("twofa-enroll", true);
        $("twofa-code").focus();
      } catch (err) {
        setError("twofa-error", err);
      }
    });
  });

  $("twofa-verify-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const code = $("twofa-code").value.replace(/\s+/g, "");
    if (!/^[0-9]{6}$/.test(code)) {
      setError("twofa-error", "Enter the 6-digit code.");
      return;
    }
    busy(form, async () => {
      try {
        const r = await authed("POST", "/api/v1/auth/2fa/verify", { code });
        setError("twofa-error", null);
        $("twofa-code").value = "";
        $("totp-secret").textContent = "";
        $("totp-qr").removeAttribute("src");
        show("twofa-enroll", false);
        const list = $("recovery-codes");
        list.replaceChildren(...(r.recoveryCodes || []).map((c) => el("li", null, el("code", { text: c }))));
        show("recovery-codes-box", true);
        await reloadMe();
      } catch (err) {
        setError("twofa-error", err);
      }
    });
  });

  $("recovery-codes-done").addEventListener("click", () => {
    $("recovery-codes").replaceChildren();
    show("recovery-codes-box", false);
    renderAccount();
  });

  // ---- account: password ----

  $("password-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const body = { currentPassword: $("current-password").value, newPassword: $("new-password").value };
    if (!body.currentPassword || !body.newPassword) {
      setError("password-error", "Enter the current and the new password.");
      return;
    }
    if (body.newPassword !== $("new-password-confirm").value) {
      setError("password-error", "The new passwords do not match.");
      return;
    }
    busy(form, async () => {
      // The gateway ends every session of the account, and with it this
      // page's WebSocket: stop listening first so that the close reads as
      // expected.
      stopLive();
      try {
        await authed("POST", "/api/v1/auth/reset-password", body);
        showLogin("Password changed. Every session has ended; log in with the new password.", "ok");
      } catch (err) {
        setError("password-error", err);
        if (state.me) startLive();
      }
    });
  });

  // ---- sessions ----

  let sessionsSeq = 0;

  async function loadSessions() {
    const seq = ++sessionsSeq;
    const all = hasRole("admin") && $("sessions-all").checked;
    $("sessions-table").classList.toggle("show-user", all);
    try {
      const r = await authed("GET", "/api/v1/sessions" + (all ? "?all=true" : ""));
      if (seq !== sessionsSeq || !state.me) return;
      setError("sessions-error", null);
      renderSessions(r.sessions || []);
    } catch (err) {
      if (seq === sessionsSeq && state.me) setError("sessions-error", err);
    }
  }

  function deviceLabel(s) {
    const ua = s.userAgent || "";
    let name = "Unknown client";
    const m = /(Firefox|Edg|Chrome|Chromium|Safari|curl|Go-http-client|warden)\/[0-9.]+/.exec(ua);
    if (m) name = m[0].replace(/^Edg\//, "Edge/");
    if (/HeadlessChrome/.test(ua)) name = "Headless " + name;
    return name;
  }

  function renderSessions(list) {
    const body = $("sessions-body");
    const current = state.me && state.me.sessionId;
    const rows = list.map((s) => {
      const isCurrent = s.id === current;
      const revoke = el("button", { type: "button", class: "button-small button-danger revoke", dataset: { sessionId: s.id } }, "Revoke");
      revoke.addEventListener("click", () => revokeSession(s.id, revoke));
      const device = el("td", null,
        el("div", { class: "device", title: s.userAgent || "" }, deviceLabel(s)),
        el("div", { class: "sub mono", title: "device id" }, s.deviceId || "—"),
        isCurrent ? el("span", { class: "badge badge-ok current-badge" }, "this session") : null);
      return el("tr", { class: isCurrent ? "current" : null, dataset: { sessionId: s.id } },
        el("td", { class: "col-user" }, s.user),
        device,
        el("td", { class: "mono" }, s.clientIp || ""),
        el("td", { class: "nowrap" }, formatTime(s.created)),
        el("td", { class: "nowrap" }, formatTime(s.lastSeen)),
        el("td", { class: "nowrap" }, formatTime(s.expires)),
        el("td", null, s.rememberMe ? "yes" : "no"),
        el("td", { class: "actions" }, revoke));
    });
    body.replaceChildren(...rows);
    show("sessions-empty", rows.length === 0);
  }

  async function revokeSession(id, button) {
    const own = state.me && id === state.me.sessionId;
    button.disabled = true;
    if (own) stopLive();
    try {
      await authed("DELETE", "/api/v1/sessions/" + encodeURIComponent(id));
      if (own) {
        showLogin("You ended this session.", "ok");
        return;
      }
      await loadSessions();
    } catch (err) {
      button.disabled = false;
      setError("sessions-error", err);
      if (own && state.me) startLive();
    }
  }

  $("sessions-all").addEventListener("change", loadSessions);
  $("sessions-refresh").addEventListener("click", loadSessions);

  // ---- audit ----

  let auditSeq = 0;

  async function searchAudit() {
    const seq = ++auditSeq;
    const q = new URLSearchParams();
    q.set("q", $("audit-q").value.trim());
    q.set("actor", $("audit-actor").value.trim());
    q.set("action", $("audit-action").value.trim());
    q.set("limit", "50");
    try {
      const r = await authed("GET", "/api/v1/audit?" + q.toString());
      if (seq !== auditSeq || !state.me) return;
      setError("audit-error", null);
      renderAudit(r.entries || []);
    } catch (err) {
      if (seq === auditSeq && state.me) setError("audit-error", err);
    }
  }

  function detailsText(d) {
    if (d === null || d === undefined) return "";
    if (typeof d !== "object") return String(d);
    const keys = Object.keys(d);
    if (keys.length === 0) return "";
    return keys.map((k) => k + "=" + (typeof d[k] === "object" ? JSON.stringify(d[k]) : String(d[k]))).join(" ");
  }

  function renderAudit(entries) {
    const rows = entries.map((e) => {
      const details = detailsText(e.details);
      return el("tr", { dataset: { seq: e.seq } },
        el("td", { class: "mono" }, e.seq),
        el("td", { class: "nowrap" }, formatTime(e.time)),
        el("td", { class: "mono" }, e.actor),
        el("td", { class: "mono" }, e.action),
        el("td", { class: "mono clip", title: e.target || "" }, e.target || ""),
        el("td", null, el("span", { class: "badge outcome-" + String(e.outcome).replace(/[^a-z]/g, "") }, e.outcome)),
        el("td", { class: "mono" }, e.sourceIp || ""),
        el("td", { class: "mono clip details", title: details }, details));
    });
    $("audit-body").replaceChildren(...rows);
    show("audit-empty", rows.length === 0);
  }

  $("audit-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(ev.currentTarget, searchAudit);
  });

  $("audit-verify").addEventListener("click", async (ev) => {
    const b = ev.currentTarget;
    const out = $("verify-status");
    b.disabled = true;
    out.className = "status-line";
    out.textContent = "Verifying…";
    show(out, true);
    try {
      const r = await authed("GET", "/api/v1/audit/verify");
      if (r.ok) {
        out.classList.add("status-ok");
        out.textContent = "Chain verified: " + r.entries + " entr" + (r.entries === 1 ? "y" : "ies") + " intact" +
          (typeof r.durationMs === "number" ? " (" + r.durationMs + " ms)." : ".");
      } else {
        out.classList.add("status-bad");
        const br = r.break || {};
        out.textContent = "Chain broken at entry " + (br.seq ?? "?") + ": " + (br.kind || "unknown") + (br.reason ? " — " + br.reason : "");
      }
    } catch (err) {
      out.classList.add("status-bad");
      out.textContent = "Verification failed: " + describeError(err);
    } finally {
      b.disabled = false;
    }
  });

  // ---- live connection ----

  const live = { ws: null, stopped: true, attempts: 0, timer: 0, reason: "" };

  function setLive(text, cls) {
    const s = $("live-status");
    s.textContent = text;
    s.className = "live " + cls;
  }

  function startLive() {
    if (!live.stopped) return;
    live.stopped = false;
    live.attempts = 0;
    connectLive();
  }

  // stopLive closes the connection without treating the close as news.
  function stopLive() {
    live.stopped = true;
    clearTimeout(live.timer);
    live.timer = 0;
    const ws = live.ws;
    live.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, "bye");
    setLive("offline", "live-off");
  }

  function connectLive() {
    if (live.stopped) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(proto + "//" + location.host + "/ws");
    } catch {
      scheduleReconnect();
      return;
    }
    live.ws = ws;
    live.reason = "";
    setLive("connecting…", "live-wait");
    // The cookie names the session; the first frame proves this page is
    // the gateway's own origin.
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ type: "auth", binding: storageGet(STORE_BINDING) || "" }));
    });
    ws.addEventListener("message", (ev) => {
      if (live.ws !== ws) return;
      let f;
      try { f = JSON.parse(ev.data); } catch { return; }
      if (!f || typeof f !== "object") return;
      if (f.type === "hello") {
        live.attempts = 0;
        setLive("live", "live-on");
      } else if (f.type === "event" && f.event === "closing" && f.data) {
        live.reason = String(f.data.reason || "");
      }
    });
    ws.addEventListener("close", (ev) => {
      if (live.ws !== ws) return;
      live.ws = null;
      if (live.stopped) return;
      if (ev.code === 4401) {
        sessionEnded(ev.reason || live.reason);
        return;
      }
      setLive("offline", "live-off");
      if (ev.code === 4403) {
        live.stopped = true;
        return;
      }
      scheduleReconnect();
    });
  }

  // scheduleReconnect waits 1, 2, 4 … 30 s (with jitter), then checks the
  // session (refreshing the access cookie if it expired, since the upgrade
  // request needs it) before it connects again.
  function scheduleReconnect() {
    if (live.stopped) return;
    const base = Math.min(30000, 1000 * 2 ** Math.min(live.attempts, 5));
    live.attempts++;
    clearTimeout(live.timer);
    live.timer = setTimeout(async () => {
      live.timer = 0;
      if (live.stopped) return;
      let me;
      try {
        me = await loadMe();
      } catch {
        scheduleReconnect(); // the gateway is unreachable: try again later
        return;
      }
      if (live.stopped) return;
      if (!me) {
        sessionEnded();
        return;
      }
      connectLive();
    }, base / 2 + Math.random() * base / 2);
  }

  start();
})();
