// Page code for encoderMap: hovering or focusing a point shows its image, caption and group beside it. The map
// reads fully without it (titles, the lists under each map); this only adds the picture and a keyboard path that
// steps through every point with the arrow keys once a point of the map has focus.
const TIP_IMAGE = 96;

function setUp(figure: HTMLElement): void {
  const canvas = figure.querySelector<HTMLElement>(".ec-map-canvas");
  const tip = figure.querySelector<HTMLElement>(".ec-map-tip");
  if (!canvas || !tip) return;
  const points = [...figure.querySelectorAll<SVGElement>(".ec-map-svg a")];
  const show = (point: SVGElement) => {
    const href = point.getAttribute("href");
    tip.replaceChildren();
    if (href) {
      const img = document.createElement("img");
      img.src = href;
      img.alt = "";
      img.width = TIP_IMAGE;
      img.height = TIP_IMAGE;
      tip.append(img);
    }
    const text = document.createElement("span");
    // The point's <title>: its caption and group.
    text.textContent = point.querySelector("title")?.textContent ?? "";
    tip.append(text);
    const box = canvas.getBoundingClientRect();
    const at = point.getBoundingClientRect();
    const left = Math.min(Math.max(0, at.right - box.left + 6), Math.max(0, box.width - 150));
    const top = Math.min(Math.max(0, at.top - box.top - 10), Math.max(0, box.height - 140));
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
    tip.hidden = false;
  };
  const hide = () => {
    tip.hidden = true;
  };
  canvas.addEventListener("pointerover", (event) => {
    const point = (event.target as Element).closest<SVGElement>(".ec-map-svg a");
    if (point) show(point);
  });
  canvas.addEventListener("pointerleave", hide);
  canvas.addEventListener("focusin", (event) => {
    const point = (event.target as Element).closest<SVGElement>(".ec-map-svg a");
    if (point) show(point);
  });
  canvas.addEventListener("focusout", hide);
  canvas.addEventListener("keydown", (event) => {
    if (event.key === "Escape") return hide();
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    const current = points.indexOf((event.target as Element).closest<SVGElement>(".ec-map-svg a")!);
    if (!step || current < 0) return;
    event.preventDefault();
    points[(current + step + points.length) % points.length].focus();
  });
}

for (const figure of document.querySelectorAll<HTMLElement>(".encoder-map .ec-map")) setUp(figure);
