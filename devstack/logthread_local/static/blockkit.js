// Block Kit and mrkdwn to HTML, as Slack draws them (the parts logthread uses).
// Every string from a message is escaped before it reaches innerHTML.
"use strict";

const BlockKit = (() => {
  const ENTITY = /&(lt|gt|amp);/g;
  // The emoji logthread and CloudWatch messages use; others stay as :name:.
  const EMOJI = {
    mag: "🔍", mag_right: "🔎", red_circle: "🔴", large_green_circle: "🟢", large_yellow_circle: "🟡",
    large_orange_circle: "🟠", white_circle: "⚪", white_check_mark: "✅", heavy_check_mark: "✔️",
    warning: "⚠️", rotating_light: "🚨", x: "❌", no_entry: "⛔", no_entry_sign: "🚫",
    hourglass: "⌛", hourglass_flowing_sand: "⏳", page_facing_up: "📄", memo: "📝",
    information_source: "ℹ️", grey_question: "❔", question: "❓", link: "🔗", bell: "🔔",
    arrows_counterclockwise: "🔄", repeat: "🔁", fire: "🔥", scissors: "✂️", lock: "🔒",
    paperclip: "📎", clock1: "🕐", stopwatch: "⏱️", zzz: "💤", bulb: "💡", eyes: "👀",
    thread: "🧵", large_blue_circle: "🔵", black_circle: "⚫", heavy_minus_sign: "➖",
  };
  const emoji = (s) => s.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);

  // Raw < > & " become entities; Slack's own &lt; &gt; &amp; stay as they are.
  function escapeText(s) {
    return String(s)
      .replace(/&(?!(lt|gt|amp);)/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  // For plain_text objects and attributes: every character is literal.
  function escapePlain(s) {
    return String(s)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function safeUrl(url) {
    const decoded = String(url).replace(ENTITY, (_, e) => ({ lt: "<", gt: ">", amp: "&" })[e]);
    return /^(https?:|mailto:)/i.test(decoded) ? escapePlain(decoded) : "#";
  }

  function inline(text) {
    const kept = [];
    const hold = (html) => `\u0000${kept.push(html) - 1}\u0000`;
    const lines = String(text).split("\n").map((raw) => {
      // A raw ">" opening a line is a quote; a literal one arrives escaped as &gt;.
      const quoted = raw.startsWith(">");
      let s = quoted ? raw.slice(1) : raw;
      // Links and mentions first, kept aside so formatting can't reach into them.
      s = s.replace(/<([^<>\s]+?)(?:\|([^<>]+))?>/g, (_, target, label) => {
        if (/^(https?:|mailto:)/i.test(target)) {
          const shown = label || target;
          return hold(`<a href="${safeUrl(target)}" target="_blank" rel="noopener">${escapeText(shown)}</a>`);
        }
        const m = /^([@#!])(\w+)/.exec(target);
        if (m) {
          const sigil = m[1] === "#" ? "#" : "@";
          return hold(`<span class="mention">${sigil}${escapeText(label || m[2])}</span>`);
        }
        return hold(escapeText(`<${target}${label ? "|" + label : ""}>`));
      });
      s = escapeText(s);
      s = s.replace(/`([^`]+)`/g, (_, c) => hold(`<code>${c}</code>`));
      s = emoji(s);
      s = s.replace(/(^|[^\w*])\*(?=\S)([^*]+?)\*(?![\w*])/g, "$1<b>$2</b>");
      s = s.replace(/(^|[^\w_])_(?=\S)([^_]+?)_(?![\w_])/g, "$1<i>$2</i>");
      s = s.replace(/(^|[^\w~])~(?=\S)([^~]+?)~(?![\w~])/g, "$1<s>$2</s>");
      return { html: s, quoted };
    });
    const html = lines.map((line, i) => {
      if (line.quoted) return `<div class="quote">${line.html}</div>`;
      const next = lines[i + 1];
      return line.html + (next && !next.quoted ? "<br>" : "");
    }).join("");
    return html.replace(/\u0000(\d+)\u0000/g, (_, n) => kept[Number(n)]);
  }

  function mrkdwn(text) {
    return String(text)
      .split("```")
      .map((part, i) =>
        i % 2
          ? `<pre class="code">${escapeText(part.replace(/^\n|\n$/g, ""))}</pre>`
          : inline(part.replace(/^\n+|\n+$/g, "")))
      .join("");
  }

  function textObject(obj) {
    if (!obj) return "";
    if (obj.type === "mrkdwn") return mrkdwn(obj.text || "");
    // plain_text shows emoji codes as emoji unless the object says "emoji": false.
    const text = escapePlain(obj.text || "").replace(/\n/g, "<br>");
    return obj.emoji === false ? text : emoji(text);
  }

  function button(el, ctx) {
    const label = textObject(el.text);
    const style = el.style ? ` bk-${escapePlain(el.style)}` : "";
    if (el.url) {
      return `<a class="bk-button bk-link${style}" href="${safeUrl(el.url)}" target="_blank" rel="noopener">${label} ↗</a>`;
    }
    const index = (ctx.seen[el.action_id] = (ctx.seen[el.action_id] ?? -1) + 1);
    return `<button type="button" class="bk-button${style}" data-action-id="${escapePlain(el.action_id || "")}" data-index="${index}">${label}</button>`;
  }

  function richText(block) {
    return (block.elements || []).map((el) => {
      const parts = (el.elements || []).map((e) => escapePlain(e.text ?? e.url ?? "")).join("");
      if (el.type === "rich_text_preformatted") return `<pre class="code">${parts}</pre>`;
      if (el.type === "rich_text_quote") return `<div class="quote">${parts}</div>`;
      if (el.type === "rich_text_list") {
        const items = (el.elements || []).map((item) =>
          `<li>${(item.elements || []).map((e) => escapePlain(e.text ?? "")).join("")}</li>`);
        return `<ul>${items.join("")}</ul>`;
      }
      return `<div>${parts.replace(/\n/g, "<br>")}</div>`;
    }).join("");
  }

  function block(b, ctx) {
    switch (b.type) {
      case "header":
        return `<div class="bk-header">${textObject(b.text)}</div>`;
      case "section": {
        let html = "";
        if (b.text) html += `<div class="bk-text">${textObject(b.text)}</div>`;
        if (b.fields) html += `<div class="bk-fields">${b.fields.map((f) => `<div>${textObject(f)}</div>`).join("")}</div>`;
        const acc = b.accessory && b.accessory.type === "button" ? `<div class="bk-accessory">${button(b.accessory, ctx)}</div>` : "";
        return `<div class="bk-section">${html}${acc}</div>`;
      }
      case "context":
        return `<div class="bk-context">${(b.elements || []).map((e) =>
          e.type === "image" ? `<span class="img">[${escapePlain(e.alt_text || "image")}]</span>` : `<span>${textObject(e)}</span>`).join("")}</div>`;
      case "divider":
        return '<hr class="bk-divider">';
      case "actions":
        return `<div class="bk-actions">${(b.elements || []).map((e) =>
          e.type === "button" ? button(e, ctx) : `<span class="bk-other">[${escapePlain(e.type)}]</span>`).join("")}</div>`;
      case "rich_text":
        return `<div class="bk-rich">${richText(b)}</div>`;
      case "image":
        return `<div class="bk-image">[image: ${escapePlain(b.alt_text || "")}]</div>`;
      default:
        return `<div class="bk-other">[${escapePlain(b.type)} block]</div>`;
    }
  }

  function blocks(list) {
    const ctx = { seen: {} };
    return (list || []).map((b) => block(b, ctx)).join("");
  }

  function file(f) {
    const size = typeof f.size === "number" ? ` · ${f.size.toLocaleString()} bytes` : "";
    const name = f.name && f.name !== f.title ? ` <span class="dim">${escapePlain(f.name)}</span>` : "";
    const src = `/api/file/${encodeURIComponent(f.id || "")}`;
    const link = `<a href="${src}" target="_blank">📎 ${escapePlain(f.title || f.name || "file")}</a>${name}`;
    if (/\.png$/i.test(f.name || "")) {
      // An image (the alarm's metric graph): shown as Slack shows an image file.
      return `<div class="file image">${link}<span class="dim">${size}</span>` +
        `<img class="file-image" src="${src}" alt="${escapePlain(f.title || f.name || "image")}"></div>`;
    }
    return `<div class="file" data-file-id="${escapePlain(f.id || "")}">${link}` +
      `<span class="dim">${size}</span><pre class="file-preview code"></pre></div>`;
  }

  return { blocks, mrkdwn, file, escapePlain };
})();
