/*! Cancelflow widget v1: Cancelflow.open(options, callbacks). No dependencies. */
(() => {
  "use strict";
  const me = document.currentScript;
  const SERVICE = new URL(me ? me.src : location.href).origin;
  const SOURCE = "cancelflow";
  const CSS = `
.cf-dialog{padding:0;border:0;border-radius:12px;width:min(40rem,calc(100vw - 2rem));max-width:none;max-height:calc(100vh - 2rem);overflow:auto;background:#fff;box-shadow:0 10px 40px rgba(0,0,0,.3)}
.cf-dialog::backdrop{background:rgba(15,18,24,.6)}
.cf-frame{display:block;width:100%;height:var(--cf-height,32rem);border:0}
.cf-close{position:absolute;top:.4rem;right:.4rem;z-index:1;width:2.75rem;height:2.75rem;border:0;border-radius:50%;background:#fff;color:#1c1e21;font:1.6rem/1 system-ui,sans-serif;cursor:pointer}
.cf-close:focus-visible{outline:3px solid #f5a623;outline-offset:1px}
.cf-trap{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
@media (max-width:40rem){.cf-dialog{width:100vw;height:100vh;height:100dvh;max-height:none;margin:0;border-radius:0}.cf-frame{height:100%}}`;
  let sheet = null;
  let current = null;

  function styles() {
    if (sheet) return;
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  }

  function el(tag, props) {
    return Object.assign(document.createElement(tag), props);
  }

  async function sessionUrl(options) {
    if (options.url) {
      const url = new URL(options.url, SERVICE);
      if (url.origin !== SERVICE) throw new Error("Cancelflow: the url must be on " + SERVICE);
      return url.href;
    }
    if (options.token) return `${SERVICE}/c/${encodeURIComponent(options.token)}/`;
    const signed = options.signed;
    if (!signed) throw new Error("Cancelflow: give {token}, {url} or {signed}");
    const response = await fetch(`${SERVICE}/api/v1/widget/sessions`, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        workspace: signed.workspace,
        payload: signed.payload,
        signature: signed.signature,
      }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((body.error && body.error.message) || `HTTP ${response.status}`);
      error.code = body.error && body.error.code;
      throw error;
    }
    return `${SERVICE}/c/${encodeURIComponent(body.token)}/`;
  }

  function open(options, callbacks) {
    options = options || {};
    const on = callbacks || {};
    if (current) current.close();
    const trigger = document.activeElement;
    const root = document.documentElement;
    const overflow = root.style.overflow;
    const label = options.title || "Cancel subscription";
    styles();

    const dialog = el("dialog", { className: "cf-dialog" });
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-label", label);
    const first = el("span", { className: "cf-trap", tabIndex: 0 });
    const last = el("span", { className: "cf-trap", tabIndex: 0 });
    const close = el("button", { type: "button", className: "cf-close", textContent: "×" });
    close.setAttribute("aria-label", options.closeLabel || "Close");
    const frame = el("iframe", { className: "cf-frame", title: label });
    dialog.append(first, close, last);

    let url = "";
    let ready = false;
    let told = false;
    let closed = false;
    let timer = 0;

    const toFrame = (message) => {
      if (frame.contentWindow) frame.contentWindow.postMessage({ source: SOURCE, ...message }, SERVICE);
    };
    // Focus stays in the dialog: past the frame's last control back to the close
    // button, and before the close button into the frame's last control.
    first.addEventListener("focus", () => {
      frame.focus();
      toFrame({ type: "focus", last: true });
    });
    last.addEventListener("focus", () => close.focus());
    close.addEventListener("click", () => handle.close());
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      handle.close();
    });

    const fallback = () => {
      if (!ready && !closed && url) {
        cleanup();
        location.assign(url);
      }
    };

    const onMessage = (event) => {
      const data = event.data;
      if (event.origin !== SERVICE || event.source !== frame.contentWindow) return;
      if (!data || data.source !== SOURCE) return;
      if (data.type === "ready" || data.type === "resize") {
        if (!ready) {
          ready = true;
          clearTimeout(timer);
          frame.focus();
          toFrame({ type: "focus" });
        }
        if (data.height > 0) dialog.style.setProperty("--cf-height", `${Math.ceil(data.height)}px`);
      } else if (data.type === "close") {
        handle.close();
      } else if (!told && (data.type === "saved" || data.type === "cancelled" || data.type === "kept")) {
        told = true;
        if (data.type === "saved" && on.onSaved) on.onSaved(data.offer, data.terms);
        if (data.type === "cancelled" && on.onCancelled) on.onCancelled();
        if (data.type === "kept" && on.onKept) on.onKept();
      }
    };

    frame.addEventListener("load", () => {
      toFrame({ type: "hello" });
      // The page answers at once; no answer means the frame was refused (not
      // an allowed origin) or failed: the flow opens as a full page instead.
      if (!ready) {
        clearTimeout(timer);
        timer = setTimeout(fallback, options.loadTimeout || 3000);
      }
    });

    function cleanup() {
      closed = true;
      clearTimeout(timer);
      window.removeEventListener("message", onMessage);
      if (dialog.open) dialog.close();
      dialog.remove();
      root.style.overflow = overflow;
      if (current === handle) current = null;
    }

    const handle = {
      close() {
        if (closed) return;
        cleanup();
        if (trigger && trigger.focus) trigger.focus();
        if (on.onClose) on.onClose();
      },
    };
    current = handle;
    window.addEventListener("message", onMessage);
    document.body.append(dialog);
    root.style.overflow = "hidden";
    dialog.showModal();
    close.focus();

    sessionUrl(options).then(
      (href) => {
        if (closed) return;
        url = href;
        frame.src = href;
        last.before(frame);
        timer = setTimeout(fallback, options.loadTimeout ? options.loadTimeout * 3 : 10000);
      },
      (error) => {
        handle.close();
        if (on.onError) on.onError(error);
        else console.error(error);
      }
    );
    return handle;
  }

  window.Cancelflow = { open, version: "1" };
})();
