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
 *
 * Only an UNAUTHENTICATED answer (401), or the WebSocket's 4401 close,
 * means the session is over. A wrong password or code typed inside the
 * session is WRONG_CREDENTIAL (403): an error under its form, and the
 * session goes on. A credential is sent once, never retried.
 */
"use strict";

(function () {
  const STORE_DEVICE = "warden.deviceId";
  const STORE_REMEMBER = "warden.rememberMe";
  const STORE_BINDING = "warden.binding";
  const ROLE_RANK = { viewer: 1, agent: 2, operator: 3, admin: 4 };
  const PAGE = 50; // audit entries per page
  const MAX_ROWS = 200; // rows a live table keeps

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

  function capitalize(m) {
    return m ? m.charAt(0).toUpperCase() + m.slice(1) : m;
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  function describeError(err) {
    if (err instanceof ApiError) {
      if (err.code === "RATE_LIMITED") {
        return "Too many failed attempts. Wait " + plural(err.retryAfter || 0, "second", "seconds") + " before trying again.";
      }
      if (err.code === "NETWORK") return "The gateway cannot be reached. Check that warden is running.";
      if (err.code === "WRONG_CREDENTIAL") return capitalize(err.message) + ". You are still logged in.";
      return capitalize(err.message || err.code);
    }
    return String(err && err.message ? err.message : err);
  }

  function formatTime(s) {
    if (!s) return "";
    const d = new Date(s);
    if (isNaN(d.getTime()) || d.getFullYear() < 1971) return "";
    return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function formatSeconds(s) {
    const d = new Date(s);
    if (!s || isNaN(d.getTime())) return "";
    return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  }

  // formatClock is a time of today as its clock time, else a short date
  // and time (the full time is in the cell's title).
  function formatClock(s) {
    const d = new Date(s);
    if (!s || isNaN(d.getTime())) return "";
    if (d.toDateString() === new Date().toDateString()) return d.toLocaleTimeString(undefined, { timeStyle: "medium" });
    return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
  }

  function formatDuration(ms) {
    if (typeof ms !== "number") return "";
    if (ms < 1000) return ms + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    return Math.floor(ms / 60000) + " min " + Math.round((ms % 60000) / 1000) + " s";
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
      let retry = e.retryAfter;
      if (!retry && res.headers.get("Retry-After")) retry = parseInt(res.headers.get("Retry-After"), 10) || 0;
      throw new ApiError(res.status, e.code || "HTTP_" + res.status, e.message || res.statusText, retry);
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

  // authed is request for routes that need the session and check no
  // credential: a 401 (the access cookie expired) triggers one refresh and
  // one retry; when that fails too the session is over and the login form
  // comes back.
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

  // credentialRequest sends a request that checks a password or a code
  // again (change password, two-factor setup): exactly once. Each attempt
  // counts against the rate limit, so it is never retried; the session is
  // made sure of first (a GET that may refresh the access cookie), so that
  // the one attempt is not wasted on an expired cookie. A wrong credential
  // is the caller's inline error; only a 401 ends the session.
  async function credentialRequest(method, path, body) {
    await authed("GET", "/api/v1/me");
    try {
      return await request(method, path, body);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) sessionEnded();
      throw err;
    }
  }

  // ---- state and views ----

  const state = {
    me: null,         // the /api/v1/me answer while logged in
    pending: null,    // the login request waiting for a second factor
    useRecovery: false,
    policy: null,     // the password policy (minLength, maxLength)
    auditLoaded: false,
    commandsLoaded: false,
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
    state.commandsLoaded = false;
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
  // (revoked, logged out elsewhere, password changed, expired): a 401
  // answer or the WebSocket's 4401 close, nothing else.
  function sessionEnded(reason) {
    if (!state.me) return;
    const why = reason && reason !== "session ended" ? " (" + reason + ")" : "";
    showLogin("Your session ended" + why + ". Log in again.", "warn");
  }

  function clearMain() {
    for (const id of ["sessions-body", "audit-body", "recovery-codes", "users-body", "tokens-body", "commands-body"]) $(id).replaceChildren();
    show("recovery-codes-box", false);
    show("twofa-enroll", false);
    show("twofa-setup-form", false);
    $("totp-secret").textContent = "";
    $("totp-qr").removeAttribute("src");
    clearCreatedToken();
    for (const id of ["twofa-password", "twofa-code", "current-password", "new-password", "new-password-confirm",
      "user-add-name", "user-add-password", "user-add-confirm", "token-name"]) $(id).value = "";
    for (const id of ["twofa-error", "password-error", "sessions-error", "audit-error", "users-error", "user-add-error",
      "tokens-error", "commands-error"]) setError(id, null);
    show("verify-status", false);
    show("users-done", false);
    show("violation-alert", false);
    $("sessions-all").checked = false;
    audit.cursor = null;
    audit.stack = [];
    audit.newCount = 0;
    live.want = false;
    updatePasswordRules();
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
    show("tab-commands", hasRole("operator"));
    show("tab-users", hasRole("admin"));
    show("tab-tokens", hasRole("admin"));
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
    loadPolicy();
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

  // ---- the password rule ----

  // loadPolicy reads the password rule (auth.password_min_length) from the
  // gateway, so that every form that sets a password says it before
  // anyone types.
  async function loadPolicy() {
    try {
      state.policy = await request("GET", "/api/v1/auth/password-policy");
    } catch {
      state.policy = null;
    }
    updatePasswordRules();
  }

  function passwordLength(s) {
    return Array.from(s).length;
  }

  // updatePasswordRules writes the rule, and how far the typed password
  // is from it, under every new-password field.
  function updatePasswordRules() {
    document.querySelectorAll(".password-rule").forEach((p) => {
      const input = $(p.dataset.for);
      if (!state.policy) {
        p.textContent = "A long passphrase: several unrelated words.";
        return;
      }
      const min = state.policy.minLength;
      const n = input ? passwordLength(input.value) : 0;
      let text = "At least " + min + " characters: a passphrase of several unrelated words, not built on the user name or common words.";
      if (n > 0) text += n < min ? " This one: " + n + ", " + (min - n) + " to go." : " This one: " + n + ", long enough.";
      p.textContent = text;
      p.classList.toggle("rule-met", n >= min);
    });
  }

  document.querySelectorAll(".password-rule").forEach((p) => {
    const input = $(p.dataset.for);
    if (input) input.addEventListener("input", updatePasswordRules);
  });

  // checkNewPassword returns what is wrong with a new password and its
  // confirmation before anything is sent, or "".
  function checkNewPassword(pw, again) {
    if (!pw) return "Enter a password.";
    if (state.policy && passwordLength(pw) < state.policy.minLength) {
      return "The password has " + plural(passwordLength(pw), "character", "characters") + "; it needs at least " + state.policy.minLength + ".";
    }
    if (pw !== again) return "The two passwords do not match.";
    return "";
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
    const bad = checkNewPassword(body.password, $("setup-password-confirm").value);
    if (bad) {
      setError("setup-error", bad);
      return;
    }
    busy(form, async () => {
      try {
        await request("POST", "/api/v1/setup", body);
        setError("setup-error", null);
        $("setup-password").value = "";
        $("setup-password-confirm").value = "";
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

  const TABS = { account: "viewer", sessions: "viewer", users: "admin", tokens: "admin", audit: "operator", commands: "operator" };

  function route() {
    if (!state.me) return;
    let tab = (location.hash || "").replace(/^#/, "");
    if (!TABS[tab] || !hasRole(TABS[tab])) tab = "account";
    for (const t of Object.keys(TABS)) {
      show("panel-" + t, t === tab);
      const link = $("tab-" + t);
      link.classList.toggle("active", t === tab);
      if (t === tab) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (tab === "sessions") loadSessions();
    if (tab === "users") loadUsers();
    if (tab === "tokens") loadTokens();
    if (tab === "audit" || tab === "commands") {
      // Subscribed first, then loaded: nothing falls between the two.
      const ready = wantLiveEvents();
      if (tab === "audit" && !state.auditLoaded) {
        state.auditLoaded = true;
        ready.then(searchAudit);
      }
      if (tab === "commands" && !state.commandsLoaded) {
        state.commandsLoaded = true;
        ready.then(() => loadCommands(false));
      }
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
        el("span", { id: "recovery-left", text: plural(u.recoveryCodesLeft, "recovery code", "recovery codes") + " left." }));
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
        const r = await credentialRequest("POST", "/api/v1/auth/2fa/setup", { password });
        $("twofa-password").value = "";
        setError("twofa-error", null);
        if (typeof r.qrCode === "string" && r.qrCode.startsWith("data:image/png;base64,")) $("totp-qr").src = r.qrCode;
        $("totp-secret").textContent = r.secret;
        show("twofa-setup-form", false);
        show("twofa-enroll", true);
        $("twofa-code").focus();
      } catch (err) {
        if (!state.me) return;
        setError("twofa-error", err);
        $("twofa-password").select();
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
        const r = await credentialRequest("POST", "/api/v1/auth/2fa/verify", { code });
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
        if (!state.me) return;
        setError("twofa-error", err);
        $("twofa-code").select();
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
    if (!body.currentPassword) {
      setError("password-error", "Enter the current password.");
      return;
    }
    const bad = checkNewPassword(body.newPassword, $("new-password-confirm").value);
    if (bad) {
      setError("password-error", bad);
      return;
    }
    busy(form, async () => {
      // On success the gateway ends every session of the account, and
      // with it this page's WebSocket: that close is expected, not news.
      live.expectEnd = true;
      try {
        await credentialRequest("POST", "/api/v1/auth/reset-password", body);
        showLogin("Password changed. Every session has ended; log in with the new password.", "ok");
      } catch (err) {
        if (!state.me) return;
        setError("password-error", err);
        $("current-password").select();
      } finally {
        live.expectEnd = false;
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

  // ---- inline confirmation ----

  // confirmInCell replaces a table cell's buttons with a question and
  // Confirm / Cancel until one is clicked; act runs on Confirm.
  function confirmInCell(cell, question, label, act) {
    const before = Array.from(cell.childNodes);
    const yes = el("button", { type: "button", class: "button-small button-danger confirm" }, label);
    const no = el("button", { type: "button", class: "button-small button-secondary cancel" }, "Cancel");
    const restore = () => cell.replaceChildren(...before);
    no.addEventListener("click", restore);
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      no.disabled = true;
      if (!(await act())) restore();
    });
    cell.replaceChildren(el("span", { class: "confirm-question" }, question), " ", yes, " ", no);
    yes.focus();
  }

  // ---- users ----

  let usersSeq = 0;

  async function loadUsers() {
    const seq = ++usersSeq;
    try {
      const r = await authed("GET", "/api/v1/users");
      if (seq !== usersSeq || !state.me) return;
      setError("users-error", null);
      renderUsers(r.users || [], r.owner || "");
    } catch (err) {
      if (seq === usersSeq && state.me) setError("users-error", err);
    }
  }

  function usersDone(text) {
    const p = $("users-done");
    p.textContent = text;
    show(p, !!text);
    if (text) setError("users-error", null);
  }

  function renderUsers(list, owner) {
    const o = $("users-owner");
    o.replaceChildren();
    if (owner) {
      o.append("Owner: ", el("strong", { id: "users-owner-name" }, owner),
        ". The owner's own login session is the main session. The owner cannot be disabled or demoted here; to hand ownership over, name another admin in gateway.owner.");
    } else {
      o.append("No owner yet: the first admin created becomes the owner.");
    }
    const me = state.me ? state.me.name : "";
    const rows = list.map((u) => {
      const isOwner = u.name === owner;
      const isMe = u.name === me;
      const disabled = !!u.disabled;
      const name = el("td", null, el("span", { class: "device" }, u.name),
        isOwner ? el("span", { class: "badge badge-owner" }, "owner") : null,
        isMe ? el("span", { class: "badge badge-ok" }, "you") : null);
      const select = el("select", { class: "role-select", "aria-label": "Role of " + u.name });
      for (const r of ["viewer", "agent", "operator", "admin"]) {
        const opt = el("option", { value: r }, r);
        if (r === u.role) opt.selected = true;
        select.append(opt);
      }
      const locked = isMe || disabled || (isOwner && u.role === "admin");
      select.disabled = locked;
      if (isOwner) select.title = "The owner stays an admin";
      else if (isMe) select.title = "Another admin can change your role";
      const actions = el("td", { class: "actions" });
      const save = el("button", { type: "button", class: "button-small set-role", hidden: true }, "Change role");
      select.addEventListener("change", () => { save.hidden = select.value === u.role; });
      save.addEventListener("click", () => {
        const role = select.value;
        confirmInCell(actions, "Make " + u.name + " " + role + "? Their sessions end.", "Change", async () => {
          try {
            await authed("PUT", "/api/v1/users/" + encodeURIComponent(u.name) + "/role", { role });
            usersDone(u.name + " is now " + role + "; their sessions have ended.");
            await loadUsers();
            return true;
          } catch (err) {
            setError("users-error", err);
            return false;
          }
        });
      });
      const buttons = [save];
      if (u.twoFactor) {
        const reset = el("button", { type: "button", class: "button-small button-secondary reset-2fa" }, "Reset two-factor");
        reset.addEventListener("click", () => confirmInCell(actions, "Turn off two-factor for " + u.name + "?", "Reset", async () => {
          try {
            await authed("POST", "/api/v1/auth/2fa/disable", { username: u.name });
            usersDone("Two-factor is off for " + u.name + "; they can set it up again from their account.");
            await loadUsers();
            return true;
          } catch (err) {
            setError("users-error", err);
            return false;
          }
        }));
        buttons.push(reset);
      }
      if (!disabled && !isOwner && !isMe) {
        const dis = el("button", { type: "button", class: "button-small button-danger disable-user" }, "Disable");
        dis.addEventListener("click", () => confirmInCell(actions, "Disable " + u.name + "? Their sessions end.", "Disable", async () => {
          try {
            await authed("POST", "/api/v1/users/" + encodeURIComponent(u.name) + "/disable");
            usersDone(u.name + " is disabled; their sessions have ended.");
            await loadUsers();
            return true;
          } catch (err) {
            setError("users-error", err);
            return false;
          }
        }));
        buttons.push(dis);
      }
      actions.append(...buttons.flatMap((b) => [b, " "]));
      if (isOwner) actions.append(el("span", { class: "sub" }, "the owner: never disabled or demoted"));
      else if (isMe) actions.append(el("span", { class: "sub" }, "your account: another admin manages it"));
      const status = disabled ? el("span", { class: "badge outcome-denied" }, "disabled " + formatTime(u.disabled)) :
        el("span", { class: "badge outcome-success" }, "active");
      return el("tr", { dataset: { user: u.name }, class: disabled ? "row-muted" : null },
        name,
        el("td", null, select),
        el("td", null, u.twoFactor ? el("span", { class: "badge badge-ok" }, "on") : el("span", { class: "badge badge-warn" }, "off")),
        el("td", { class: "nowrap" }, formatTime(u.lastLogin) || "never"),
        el("td", null, status),
        actions);
    });
    $("users-body").replaceChildren(...rows);
  }

  $("users-refresh").addEventListener("click", () => {
    usersDone("");
    loadUsers();
  });

  $("user-add-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const body = { username: $("user-add-name").value.trim(), role: $("user-add-role").value, password: $("user-add-password").value };
    if (!body.username) {
      setError("user-add-error", "Enter a username.");
      return;
    }
    const bad = checkNewPassword(body.password, $("user-add-confirm").value);
    if (bad) {
      setError("user-add-error", bad);
      return;
    }
    busy(form, async () => {
      try {
        await authed("POST", "/api/v1/users", body);
        setError("user-add-error", null);
        for (const id of ["user-add-name", "user-add-password", "user-add-confirm"]) $(id).value = "";
        updatePasswordRules();
        usersDone("Added " + body.username + " (" + body.role + ").");
        await loadUsers();
      } catch (err) {
        setError("user-add-error", err);
      }
    });
  });

  // ---- tokens ----

  let tokensSeq = 0;

  async function loadTokens() {
    const seq = ++tokensSeq;
    try {
      const r = await authed("GET", "/api/v1/tokens");
      if (seq !== tokensSeq || !state.me) return;
      setError("tokens-error", null);
      renderTokens(r.tokens || []);
    } catch (err) {
      if (seq === tokensSeq && state.me) setError("tokens-error", err);
    }
  }

  function tokenStatus(t) {
    if (t.revoked) return ["revoked", "outcome-denied"];
    if (t.expires && new Date(t.expires).getTime() <= Date.now()) return ["expired", "badge-warn"];
    return ["active", "outcome-success"];
  }

  function renderTokens(list) {
    const withRevoked = $("tokens-revoked").checked;
    const rows = list.filter((t) => withRevoked || !t.revoked).map((t) => {
      const [status, cls] = tokenStatus(t);
      const actions = el("td", { class: "actions" });
      if (!t.revoked) {
        const revoke = el("button", { type: "button", class: "button-small button-danger revoke-token" }, "Revoke");
        revoke.addEventListener("click", () => confirmInCell(actions, "Revoke " + t.name + "? Clients using it stop at once.", "Revoke", async () => {
          try {
            await authed("DELETE", "/api/v1/tokens/" + encodeURIComponent(t.id));
            await loadTokens();
            return true;
          } catch (err) {
            setError("tokens-error", err);
            return false;
          }
        }));
        actions.append(revoke);
      }
      return el("tr", { dataset: { token: t.name, tokenId: t.id }, class: t.revoked ? "row-muted" : null },
        el("td", { class: "device" }, t.name),
        el("td", { class: "mono" }, t.id),
        el("td", null, t.role),
        el("td", { class: "nowrap" }, formatTime(t.created)),
        el("td", { class: "nowrap" }, t.expires ? formatTime(t.expires) : "never"),
        el("td", { class: "nowrap" }, t.lastUsed ? formatTime(t.lastUsed) : "never"),
        el("td", null, el("span", { class: "badge " + cls }, status)),
        actions);
    });
    $("tokens-body").replaceChildren(...rows);
    show("tokens-empty", rows.length === 0);
  }

  function clearCreatedToken() {
    $("token-value").textContent = "";
    $("token-created-name").textContent = "";
    $("token-copy-status").textContent = "";
    show("token-created", false);
  }

  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const body = { name: $("token-name").value.trim(), role: $("token-role").value, expires: $("token-expires").value };
    if (!body.name) {
      setError("tokens-error", "Enter a name for the token, such as the agent that will use it.");
      return;
    }
    busy(form, async () => {
      try {
        const r = await authed("POST", "/api/v1/tokens", body);
        setError("tokens-error", null);
        $("token-name").value = "";
        $("token-created-name").textContent = r.info ? r.info.name : body.name;
        $("token-value").textContent = r.token;
        $("token-copy-status").textContent = "";
        show("token-created", true);
        $("token-copy").focus();
        await loadTokens();
      } catch (err) {
        setError("tokens-error", err);
      }
    });
  });

  // copyToken puts the new token on the clipboard; where the browser
  // refuses, it selects the token for the user to copy.
  $("token-copy").addEventListener("click", async () => {
    const value = $("token-value").textContent;
    const status = $("token-copy-status");
    try {
      if (!navigator.clipboard || typeof navigator.clipboard.writeText !== "function") throw new Error("no clipboard");
      await navigator.clipboard.writeText(value);
      status.textContent = "Copied to the clipboard.";
    } catch {
      const range = document.createRange();
      range.selectNodeContents($("token-value"));
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      status.textContent = "The browser did not allow copying: the token is selected, press Ctrl+C.";
    }
  });

  $("token-done").addEventListener("click", clearCreatedToken);
  $("tokens-refresh").addEventListener("click", loadTokens);
  $("tokens-revoked").addEventListener("change", loadTokens);

  // ---- audit ----

  const audit = {
    seq: 0,
    loading: false,
    buffer: [],      // live entries that came while a page loaded
    cursor: null,    // null: the newest page; else the oldest entry of the newer page {seq, time}
    stack: [],       // cursors of the newer pages
    filter: null,    // the filter of the page shown
    shown: new Set(),
    newCount: 0,     // live entries not shown (older page or a text search)
  };

  // nextNano returns an RFC 3339 time one nanosecond later, so that an
  // "until" (exclusive) bound still includes entries written in the same
  // nanosecond as the page's oldest; those already shown are skipped by
  // sequence number.
  function nextNano(t) {
    const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(t || "");
    if (!m) return t;
    const f = (m[2] || "").padEnd(9, "0");
    if (f === "999999999") return t;
    return m[1] + "." + String(Number(f) + 1).padStart(9, "0") + m[3];
  }

  function localToISO(v) {
    if (!v) return "";
    const d = new Date(v);
    return isNaN(d.getTime()) ? "" : d.toISOString();
  }

  function readAuditFilter() {
    return {
      q: $("audit-q").value.trim(),
      actor: $("audit-actor").value.trim(),
      action: $("audit-action").value.trim(),
      since: localToISO($("audit-since").value),
      until: localToISO($("audit-until").value),
    };
  }

  function actionMatches(filter, action) {
    if (!filter) return true;
    if (filter.endsWith("*")) return action.startsWith(filter.slice(0, -1));
    if (filter.endsWith(".")) return action.startsWith(filter);
    return action === filter;
  }

  // liveMatches says whether a pushed entry belongs on the newest page of
  // the current filter; text searches go through the gateway's index, so
  // their new entries are only counted.
  function liveMatches(e, f) {
    if (f.actor && e.actor !== f.actor) return false;
    if (!actionMatches(f.action, e.action)) return false;
    const t = new Date(e.time).getTime();
    if (f.since && t < new Date(f.since).getTime()) return false;
    if (f.until && t >= new Date(f.until).getTime()) return false;
    return true;
  }

  async function searchAudit() {
    const seq = ++audit.seq;
    const f = readAuditFilter();
    const q = new URLSearchParams();
    for (const k of ["q", "actor", "action", "since"]) if (f[k]) q.set(k, f[k]);
    if (audit.cursor) q.set("until", nextNano(audit.cursor.time));
    else if (f.until) q.set("until", f.until);
    q.set("limit", String(PAGE + 1));
    audit.loading = true;
    try {
      const r = await authed("GET", "/api/v1/audit?" + q.toString());
      if (seq !== audit.seq || !state.me) return;
      setError("audit-error", null);
      let entries = r.entries || [];
      if (audit.cursor) entries = entries.filter((e) => e.seq < audit.cursor.seq);
      const more = entries.length > PAGE;
      audit.filter = f;
      renderAudit(entries.slice(0, PAGE), more);
      if (!audit.cursor) audit.newCount = 0;
      audit.loading = false;
      const buffered = audit.buffer;
      audit.buffer = [];
      for (const e of buffered) addLiveAudit(e);
      updateAuditNew();
    } catch (err) {
      if (seq === audit.seq && state.me) setError("audit-error", err);
    } finally {
      if (seq === audit.seq) audit.loading = false;
    }
  }

  function detailsText(d) {
    if (d === null || d === undefined) return "";
    if (typeof d !== "object") return String(d);
    const keys = Object.keys(d);
    if (keys.length === 0) return "";
    return keys.map((k) => k + "=" + (typeof d[k] === "object" ? JSON.stringify(d[k]) : String(d[k]))).join(" ");
  }

  function auditRow(e) {
    const details = detailsText(e.details);
    const toggle = el("button", { type: "button", class: "link expand", "aria-expanded": "false", "aria-label": "Details of entry " + e.seq }, "▸");
    const row = el("tr", { class: "audit-row", dataset: { seq: e.seq } },
      el("td", { class: "col-expand" }, toggle),
      el("td", { class: "mono" }, e.seq),
      el("td", { class: "nowrap", title: e.time }, formatSeconds(e.time)),
      el("td", { class: "mono" }, e.actor),
      el("td", { class: "mono" }, e.action),
      el("td", { class: "mono clip", title: e.target || "" }, e.target || ""),
      el("td", null, el("span", { class: "badge outcome-" + String(e.outcome).replace(/[^a-z]/g, "") }, e.outcome)),
      el("td", { class: "mono" }, e.sourceIp || ""),
      el("td", { class: "mono clip details", title: details }, details));
    toggle.addEventListener("click", () => toggleAuditDetails(row, e, toggle));
    return row;
  }

  function toggleAuditDetails(row, e, toggle) {
    const next = row.nextElementSibling;
    if (next && next.classList.contains("detail-row")) {
      next.remove();
      toggle.setAttribute("aria-expanded", "false");
      toggle.textContent = "▸";
      return;
    }
    const fields = [["Sequence", String(e.seq)], ["Time", e.time], ["Actor", e.actor], ["Action", e.action],
      ["Target", e.target || "—"], ["Outcome", e.outcome], ["Address", e.sourceIp || "—"]];
    const dl = el("dl", { class: "detail-list" });
    for (const [k, v] of fields) dl.append(el("dt", null, k), el("dd", { class: "mono" }, v));
    let json = "";
    try { json = JSON.stringify(e.details === undefined ? null : e.details, null, 2); } catch { json = String(e.details); }
    const detail = el("tr", { class: "detail-row", dataset: { detailOf: e.seq } },
      el("td", { colspan: "9" }, dl, el("p", { class: "label" }, "Details"), el("pre", { class: "details-json" }, json)));
    row.after(detail);
    toggle.setAttribute("aria-expanded", "true");
    toggle.textContent = "▾";
  }

  function renderAudit(entries, more) {
    audit.shown = new Set(entries.map((e) => e.seq));
    $("audit-body").replaceChildren(...entries.map(auditRow));
    show("audit-empty", entries.length === 0);
    audit.more = more;
    updateAuditPager();
  }

  function auditRows() {
    return Array.from($("audit-body").querySelectorAll("tr.audit-row"));
  }

  function updateAuditPager() {
    const rows = auditRows();
    const r = $("audit-range");
    if (rows.length === 0) r.textContent = "";
    else if (rows.length === 1) r.textContent = "Entry #" + rows[0].dataset.seq + (audit.cursor ? "" : ", the newest");
    else r.textContent = "Entries #" + rows[0].dataset.seq + " to #" + rows[rows.length - 1].dataset.seq + (audit.cursor ? "" : ", the newest");
    $("audit-older").disabled = !audit.more;
    $("audit-newer").disabled = !audit.cursor;
    $("audit-newest").disabled = !audit.cursor;
  }

  function updateAuditNew() {
    const b = $("audit-new");
    b.textContent = plural(audit.newCount, "new entry", "new entries") + ": show the newest";
    show(b, audit.newCount > 0);
  }

  // addLiveAudit takes an entry the WebSocket pushed.
  function addLiveAudit(e) {
    if (!state.auditLoaded || !audit.filter || audit.shown.has(e.seq)) return;
    if (audit.loading) {
      audit.buffer.push(e);
      return;
    }
    const f = audit.filter;
    if (!liveMatches(e, f)) return;
    if (audit.cursor || f.q) {
      audit.newCount++;
      updateAuditNew();
      return;
    }
    const rows = auditRows();
    if (rows.length > 0 && Number(rows[0].dataset.seq) > e.seq) return; // older than the page's newest: not news
    audit.shown.add(e.seq);
    const row = auditRow(e);
    row.classList.add("new");
    $("audit-body").prepend(row);
    show("audit-empty", false);
    // Keep the table bounded; the rows dropped are one "Older" away.
    const all = auditRows();
    for (const old of all.slice(MAX_ROWS)) {
      const d = old.nextElementSibling;
      if (d && d.classList.contains("detail-row")) d.remove();
      audit.shown.delete(Number(old.dataset.seq));
      old.remove();
      audit.more = true;
    }
    updateAuditPager();
  }

  function auditGoNewest() {
    audit.cursor = null;
    audit.stack = [];
    audit.newCount = 0;
    updateAuditNew();
    return searchAudit();
  }

  // A search is never blocked by the one before it: the newer one wins
  // (searchAudit drops answers that come back after a newer search).
  $("audit-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    auditGoNewest();
  });

  $("audit-clear").addEventListener("click", () => {
    for (const id of ["audit-q", "audit-actor", "audit-action", "audit-since", "audit-until"]) $(id).value = "";
    auditGoNewest();
  });

  $("audit-older").addEventListener("click", () => {
    const rows = auditRows();
    if (rows.length === 0) return;
    const last = rows[rows.length - 1];
    audit.stack.push(audit.cursor);
    audit.cursor = { seq: Number(last.dataset.seq), time: last.querySelector("td:nth-child(3)").title };
    searchAudit();
  });

  $("audit-newer").addEventListener("click", () => {
    audit.cursor = audit.stack.length ? audit.stack.pop() : null;
    if (!audit.cursor) audit.newCount = 0;
    updateAuditNew();
    searchAudit();
  });

  $("audit-newest").addEventListener("click", auditGoNewest);
  $("audit-new").addEventListener("click", auditGoNewest);

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

  // ---- commands ----

  const commands = { seq: 0, loading: false, buffer: [], shown: new Set(), oldest: null };

  async function loadCommands(older) {
    const seq = ++commands.seq;
    const q = new URLSearchParams();
    q.set("limit", String(PAGE));
    if (older && commands.oldest) q.set("until", nextNano(commands.oldest.time));
    commands.loading = true;
    try {
      const r = await authed("GET", "/api/v1/commands?" + q.toString());
      if (seq !== commands.seq || !state.me) return;
      setError("commands-error", null);
      let list = r.commands || [];
      if (older) list = list.filter((c) => !commands.shown.has(c.seq));
      else {
        commands.shown = new Set();
        $("commands-body").replaceChildren();
      }
      for (const c of list) {
        commands.shown.add(c.seq);
        $("commands-body").append(commandRow(c));
      }
      if (list.length) commands.oldest = list[list.length - 1];
      show("commands-older", !!r.more);
      commands.loading = false;
      const buffered = commands.buffer;
      commands.buffer = [];
      for (const c of buffered) addLiveCommand(c);
      show("commands-empty", commands.shown.size === 0);
    } catch (err) {
      if (seq === commands.seq && state.me) setError("commands-error", err);
    } finally {
      if (seq === commands.seq) commands.loading = false;
    }
  }

  function commandResult(c) {
    if (c.kind === "violation") return el("span", { class: "badge outcome-denied" }, "escape attempt");
    if (c.status === "refused") return el("span", { class: "badge outcome-denied", title: c.reason || "" }, "refused");
    if (c.status === "failed") return el("span", { class: "badge outcome-failure", title: c.error || "" }, "did not run");
    const code = typeof c.exitCode === "number" ? c.exitCode : "?";
    const extra = c.signal ? " (" + c.signal + ")" : c.limit ? " (" + c.limit + ")" : "";
    return el("span", { class: "badge " + (c.exitCode === 0 ? "outcome-success" : "outcome-failure") }, "exit " + code + extra);
  }

  function commandRow(c) {
    const argv = (c.argv || []).join(" ");
    const violation = c.kind === "violation" ? (c.signals || []).join("; ") : (c.violation || "");
    const why = c.status === "refused" ? c.reason : c.status === "failed" ? c.error : "";
    const where = c.sandboxed === undefined || c.sandboxed === null ? "" : (c.sandboxed ? "sandbox" : "host");
    return el("tr", { class: c.kind === "violation" || c.violation ? "row-violation" : null, dataset: { seq: c.seq, kind: c.kind, status: c.status } },
      el("td", { class: "nowrap", title: formatSeconds(c.time) + " (" + c.time + ")" }, formatClock(c.time)),
      el("td", { class: "mono" }, c.actor),
      el("td", null, el("code", { class: "argv", title: argv }, argv), why ? el("div", { class: "sub" }, why) : null),
      el("td", { class: "nowrap" }, c.tier || ""),
      el("td", { class: "nowrap" }, where),
      el("td", null, commandResult(c)),
      el("td", { class: "nowrap" }, formatDuration(c.durationMs)),
      el("td", { class: "violation" }, violation));
  }

  function addLiveCommand(c) {
    if (!state.commandsLoaded || commands.shown.has(c.seq)) return;
    if (commands.loading) {
      commands.buffer.push(c);
      return;
    }
    commands.shown.add(c.seq);
    const row = commandRow(c);
    row.classList.add("new");
    $("commands-body").prepend(row);
    show("commands-empty", false);
    const rows = $("commands-body").querySelectorAll("tr");
    for (let i = MAX_ROWS; i < rows.length; i++) {
      commands.shown.delete(Number(rows[i].dataset.seq));
      rows[i].remove();
      show("commands-older", true);
    }
  }

  $("commands-refresh").addEventListener("click", () => loadCommands(false));
  $("commands-older").addEventListener("click", () => loadCommands(true));

  // ---- escape attempts ----

  function showViolation(v) {
    const argv = Array.isArray(v.argv) ? v.argv.join(" ") : "";
    const signals = Array.isArray(v.signals) ? v.signals.join("; ") : "";
    $("violation-text").textContent = "Escape attempt by " + (v.actor || "someone") + ": " + argv + (signals ? " (" + signals + ")" : "") + ". It ran only in the sandbox, or not at all.";
    show("violation-link", hasRole("operator"));
    show("violation-alert", true);
  }

  $("violation-dismiss").addEventListener("click", () => show("violation-alert", false));
  $("violation-link").addEventListener("click", () => show("violation-alert", false));

  // ---- live connection ----

  // The WebSocket carries the session's end (4401), escape attempts, and,
  // once the audit or commands page was opened, the audit log's new
  // entries. The indicator in the top bar says whether it is connected,
  // and when not, why and when it tries again.
  const live = {
    ws: null, stopped: true, attempts: 0, timer: 0, tick: 0, retryAt: 0,
    reason: "",         // from the server's closing event
    expectEnd: false,   // a password change is under way: its close is expected
    nextId: 1, calls: new Map(),
    want: false,        // subscribe to the audit feed
  };

  function setLive(text, cls) {
    const s = $("live-status");
    $("live-text").textContent = text;
    $("live-countdown").textContent = "";
    s.className = "live " + cls;
    s.title = "";
    clearInterval(live.tick);
    live.tick = 0;
  }

  // offline shows why the connection is down and counts down to the next
  // attempt.
  function offline(reason, delay, verb) {
    setLive("offline — " + reason, "live-off");
    live.retryAt = Date.now() + delay;
    const s = $("live-status");
    s.title = "Next attempt at " + new Date(live.retryAt).toLocaleTimeString();
    const render = () => {
      const left = Math.max(0, Math.ceil((live.retryAt - Date.now()) / 1000));
      $("live-countdown").textContent = ", " + (verb || "reconnecting") + " in " + left + " s";
    };
    render();
    live.tick = setInterval(render, 1000);
  }

  function closeReason(ev) {
    switch (ev.code) {
      case 1001: return "the gateway shut down";
      case 1006: return "connection lost";
      case 1008: case 1003: case 1009: return "protocol error";
      case 1011: return "the gateway failed (" + (ev.reason || "internal error") + ")";
      case 4408: return "idle timeout";
      case 4429: return "rate limited";
      default: return ev.reason || live.reason || "connection closed";
    }
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
    failCalls();
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, "bye");
    setLive("offline", "live-off");
    show("audit-live", false);
    show("commands-live", false);
  }

  function failCalls() {
    for (const c of live.calls.values()) c.reject(new Error("connection closed"));
    live.calls.clear();
  }

  // call sends a request frame and resolves with its result.
  function call(method, params) {
    const ws = live.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error("not connected"));
    const id = String(live.nextId++);
    return new Promise((resolve, reject) => {
      live.calls.set(id, { resolve, reject });
      ws.send(JSON.stringify({ type: "request", id, method, params }));
    });
  }

  // wantLiveEvents subscribes this connection to the audit feed (once:
  // the subscription is recorded in the audit log).
  function wantLiveEvents() {
    if (!hasRole("operator") || live.want) return Promise.resolve();
    live.want = true;
    if (live.ws && live.ws.readyState === WebSocket.OPEN && live.hello) return subscribe(false);
    return Promise.resolve();
  }

  async function subscribe(reload) {
    try {
      await call("subscribe", { events: ["audit", "commands"] });
    } catch {
      return; // the connection went; the next hello subscribes again
    }
    show("audit-live", true);
    show("commands-live", true);
    // What came while the connection was down is only in the log.
    if (reload) {
      if (state.auditLoaded && !audit.cursor) searchAudit();
      if (state.commandsLoaded) loadCommands(false);
    }
  }

  function connectLive() {
    if (live.stopped) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(proto + "//" + location.host + "/ws");
    } catch {
      scheduleReconnect("cannot open a WebSocket");
      return;
    }
    live.ws = ws;
    live.reason = "";
    live.hello = false;
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
        live.hello = true;
        setLive("live", "live-on");
        // Wanted before this connection was up (a reconnection, or a page
        // opened while connecting): what came meanwhile is only in the log.
        if (live.want) subscribe(true);
      } else if ((f.type === "response" || f.type === "error") && live.calls.has(f.id)) {
        const c = live.calls.get(f.id);
        live.calls.delete(f.id);
        if (f.type === "response") c.resolve(f.result);
        else c.reject(new ApiError(0, (f.error || {}).code || "ERROR", (f.error || {}).message || ""));
      } else if (f.type === "event" && f.data) {
        if (f.event === "closing") live.reason = String(f.data.reason || "");
        else if (f.event === "audit") addLiveAudit(f.data);
        else if (f.event === "command") addLiveCommand(f.data);
        else if (f.event === "sandbox_violation") showViolation(f.data);
      }
    });
    ws.addEventListener("close", (ev) => {
      if (live.ws !== ws) return;
      live.ws = null;
      live.hello = false;
      failCalls();
      show("audit-live", false);
      show("commands-live", false);
      if (live.stopped) return;
      if (ev.code === 4401) {
        if (live.expectEnd) {
          // The password change under way ended the session; its answer
          // says so. Stay quiet until it arrives.
          setLive("offline", "live-off");
          live.stopped = true;
          return;
        }
        sessionEnded(ev.reason || live.reason);
        return;
      }
      if (ev.code === 4403) {
        live.stopped = true;
        setLive("offline — this role may not use live updates", "live-off");
        return;
      }
      scheduleReconnect(closeReason(ev));
    });
  }

  // scheduleReconnect waits 1, 2, 4 … 30 s (with jitter), or as long as a
  // rate limit says, then checks the session (refreshing the access cookie
  // if it expired, since the upgrade request needs it) before it connects
  // again. The indicator says why and counts down.
  function scheduleReconnect(reason, waitMs, verb) {
    if (live.stopped) return;
    const base = Math.min(30000, 1000 * 2 ** Math.min(live.attempts, 5));
    live.attempts++;
    const delay = waitMs || Math.round(base / 2 + Math.random() * base / 2);
    clearTimeout(live.timer);
    offline(reason, delay, verb);
    live.timer = setTimeout(async () => {
      live.timer = 0;
      if (live.stopped) return;
      setLive("connecting…", "live-wait");
      let me;
      try {
        me = await loadMe();
      } catch (err) {
        if (err instanceof ApiError && err.code === "RATE_LIMITED") {
          scheduleReconnect("rate limited", Math.max(1, err.retryAfter || 1) * 1000, "retrying");
        } else if (err instanceof ApiError && err.code === "NETWORK") {
          scheduleReconnect("the gateway cannot be reached", 0, "retrying");
        } else {
          scheduleReconnect(describeError(err).replace(/\.$/, ""), 0, "retrying");
        }
        return;
      }
      if (live.stopped) return;
      if (!me) {
        sessionEnded();
        return;
      }
      connectLive();
    }, delay);
  }

  start();
})();
