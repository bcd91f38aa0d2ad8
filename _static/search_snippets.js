// Search results show a page's prose (issue 28). Sphinx's search builds each result's snippet from
// the text of the page's whole main block, which here also holds the article's buttons (".pdf"),
// its "Contents" box, code cells, their outputs and the TeX source of every formula. This narrows it
// to the article's prose, with an ellipsis for each formula; Sphinx's Search object is a global of searchtools.js, on the search page.
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Search === "undefined") return;
  var scaffold = [".headerlink", "script", "style", "button", "nav", ".toctree-wrapper", ".contents",
                  ".cell_input", ".cell_output", "div.highlight", "pre"].join(",");
  Search.htmlToText = function (htmlString, anchor) {
    var page = new DOMParser().parseFromString(htmlString, "text/html");
    var article = page.querySelector("article.bd-article") || page.querySelector('[role="main"]');
    if (!article) return "";
    var block = (anchor && article.querySelector(anchor)) || article;
    block.querySelectorAll(scaffold).forEach(function (el) { el.replaceWith(" "); });
    // a formula is TeX source until MathJax typesets it: an ellipsis marks where it stood
    block.querySelectorAll(".math").forEach(function (el) { el.replaceWith(" \u2026 "); });
    return block.textContent.replace(/\s+/g, " ").trim();
  };
});
