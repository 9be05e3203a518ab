// The admin's 知识库 tab (knowledge/admin_api.py, knowledge/media_api.py): the live articles, an editor for
// one article's Markdown (saved as a new version, refused if someone saved in between), and its pictures,
// diagrams and short videos: upload with the words for each, preview, remove. Staff-only marks such as
// "待中心确认" are shown here as written. Everything from the server is set as text.
"use strict";

(() => {
  const { api, upload, el, button, toast } = Console;
  const ADMIN = "/api/v1/knowledge/admin";
  const KINDS = { image: "图片", diagram: "图解", video: "视频" };
  let section = null;
  let editing = null; // { article_id, version }

  function buildSection() {
    section = SupervisorTabs.add("knowledge", "知识库", { role: "admin" });
    const list = el("div", "kb__list");
    list.append(el("h2", null, "文章"), el("ul", "kb__articles"));
    const editor = el("div", "kb__editor");
    editor.hidden = true;
    const title = el("h2", "kb__title");
    const text = el("textarea", "kb__content");
    text.rows = 24;
    text.setAttribute("aria-label", "文章内容（Markdown）");
    const note = el("input", "kb__note");
    note.placeholder = "修改说明（可留空）";
    note.maxLength = 500;
    const save = button("保存为新版本", saveArticle, "btn btn--primary");
    const media = el("div", "kb__media");
    editor.append(title, text, note, save, media);
    section.append(list, editor);
    SupervisorTabs.onShow("knowledge", loadArticles);
  }

  async function loadArticles() {
    const box = section.querySelector(".kb__articles");
    try {
      const { articles } = await api("GET", `${ADMIN}/articles`);
      box.replaceChildren(...articles.map((a) => {
        const item = el("li");
        item.append(button(`${a.title}（${a.article_id}，第${a.version}版）`, () => openArticle(a.article_id),
          "btn btn--quiet kb__open"));
        return item;
      }));
    } catch (error) { toast(error.message, "error"); }
  }

  async function openArticle(id) {
    try {
      const article = await api("GET", `${ADMIN}/articles/${encodeURIComponent(id)}`);
      editing = { article_id: article.article_id, version: article.version };
      section.querySelector(".kb__title").textContent = `${article.title}（第${article.version}版）`;
      section.querySelector(".kb__content").value = article.content;
      section.querySelector(".kb__editor").hidden = false;
      await loadMedia();
    } catch (error) { toast(error.message, "error"); }
  }

  async function saveArticle() {
    if (!editing) return;
    const note = section.querySelector(".kb__note").value.trim();
    try {
      const saved = await api("PUT", `${ADMIN}/articles/${encodeURIComponent(editing.article_id)}`, {
        content: section.querySelector(".kb__content").value, base_version: editing.version, note: note || null,
      });
      toast(`已保存为第${saved.version}版，索引将自动更新。`);
      await openArticle(editing.article_id);
      loadArticles();
    } catch (error) { toast(error.message, "error"); }
  }

  function preview(item) {
    if (item.kind === "video") {
      const video = el("video");
      video.controls = true;
      video.preload = "metadata";
      video.src = item.url;
      return video;
    }
    const img = el("img");
    img.src = item.url;
    img.alt = item.caption;
    img.loading = "lazy";
    return img;
  }

  async function loadMedia() {
    const box = section.querySelector(".kb__media");
    const id = editing.article_id;
    box.replaceChildren(el("h3", null, "图片、图解和视频"));
    try {
      const { media } = await api("GET", `${ADMIN}/articles/${encodeURIComponent(id)}/media`);
      if (!media.length) box.append(el("p", "muted", "这篇文章还没有图片或视频。"));
      for (const item of media) {
        const figure = el("figure", "kb__item");
        figure.append(preview(item), el("figcaption", null, `${KINDS[item.kind] || item.kind}：${item.caption}`));
        figure.append(button("删除", () => removeMedia(item), "btn btn--small"));
        box.append(figure);
      }
    } catch (error) { toast(error.message, "error"); }
    box.append(uploadForm());
  }

  function uploadForm() {
    const form = el("form", "kb__upload");
    const file = el("input");
    file.type = "file";
    file.name = "file";
    file.required = true;
    file.accept = "image/png,image/jpeg,image/gif,image/webp,video/mp4,video/webm";
    const kind = el("select");
    kind.name = "kind";
    for (const [value, label] of Object.entries(KINDS)) {
      const option = el("option", null, label);
      option.value = value;
      kind.append(option);
    }
    const caption = el("input");
    caption.name = "caption";
    caption.required = true;
    caption.maxLength = 200;
    caption.placeholder = "文字说明（必填：电话里会读给市民听，也是图片的替代文字）";
    const send = el("button", "btn btn--primary", "上传");
    send.type = "submit";
    form.append(file, kind, caption, send);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await upload(`${ADMIN}/articles/${encodeURIComponent(editing.article_id)}/media`, new FormData(form));
        toast("已上传。");
        await loadMedia();
      } catch (error) { toast(error.message, "error"); }
    });
    return form;
  }

  async function removeMedia(item) {
    if (!window.confirm(`删除“${item.caption}”？删除后市民将看不到它。`)) return;
    try {
      await api("DELETE", `${ADMIN}/media/${item.id}`);
      toast("已删除。");
      await loadMedia();
    } catch (error) { toast(error.message, "error"); }
  }

  buildSection();
})();
