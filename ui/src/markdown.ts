// Markdown to safe HTML: marked renders, highlight.js colours code, and
// DOMPurify removes anything active, since answers are untrusted text.
import DOMPurify from "dompurify";
import { Marked } from "marked";
import hljs from "highlight.js/lib/common";

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    code({ text, lang }) {
      const language = lang && hljs.getLanguage(lang) ? lang : undefined;
      const html = language ? hljs.highlight(text, { language }).value : hljs.highlightAuto(text).value;
      const label = language ?? "text";
      return `<div class="code"><div class="code-bar"><span>${label}</span><button type="button" class="copy-code" data-copy>Copy</button></div><pre><code class="hljs">${html}</code></pre></div>`;
    },
  },
});

export function renderMarkdown(source: string): string {
  const html = marked.parse(source, { async: false }) as string;
  return DOMPurify.sanitize(html, { FORBID_TAGS: ["style", "form", "input"], FORBID_ATTR: ["style"] });
}
