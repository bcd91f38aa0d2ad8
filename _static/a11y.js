// Names for controls that the themes and ipywidgets leave unnamed (issue 28, WCAG 2.1 AA).
// - The sidebar's expand arrows (a <summary> with only an icon) are named after their section.
// - An ipywidgets slider's handle (role="slider") is named after the slider's visible label; the
//   widgets are drawn after the page loads, so new ones are named as they appear.
// - A picture of an interactive figure gets its description as alt text (describePictures).
(function () {
  function nameSummaries() {
    document.querySelectorAll("nav details > summary").forEach(function (summary) {
      if (summary.getAttribute("aria-label")) return;
      var link = summary.parentElement.previousElementSibling;
      var title = link ? link.textContent.trim() : "";
      summary.setAttribute("aria-label", title ? "Sections of " + title : "Sections");
    });
  }
  function nameSliders(root) {
    root.querySelectorAll(".widget-slider [role='slider']").forEach(function (handle) {
      if (handle.getAttribute("aria-label")) return;
      var slider = handle.closest(".widget-slider");
      var label = slider && slider.querySelector(".widget-label");
      var text = label ? label.textContent.trim() : "";
      handle.setAttribute("aria-label", text || "value");
    });
  }
  // A picture of an interactive figure (tw.widgets.picture) comes with a line saying what it shows;
  // it becomes the image's alt text, and the line itself is kept off the screen and from the reader.
  function describePictures(root) {
    root.querySelectorAll(".tw-picture-description").forEach(function (caption) {
      var box = caption.parentElement;
      var image = box && box.querySelector(".widget-image");
      if (!image || image.getAttribute("alt")) return;
      image.setAttribute("alt", caption.textContent.trim());
      caption.setAttribute("aria-hidden", "true");
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    nameSummaries();
    nameSliders(document);
    describePictures(document);
    // the widget manager adds a widget's own classes after the widget is in the page: watch those too
    new MutationObserver(function () { nameSliders(document); describePictures(document); })
      .observe(document.body, {childList: true, subtree: true, attributes: true, attributeFilter: ["class"]});
  });
})();
