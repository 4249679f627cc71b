// The only script a page with "Try your own image" loads up front. It turns each hidden
// placeholder into a button and fetches nothing else until the reader presses it.
let panels = 0;

function enhance(placeholder: HTMLElement): void {
  const config = placeholder.dataset.tryit;
  if (!config || placeholder.dataset.tryitReady) return;
  placeholder.dataset.tryitReady = "1";
  const id = `ec-tryit-${++panels}`;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "ec-tryit-open";
  button.textContent = "Try your own image";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", id);
  const panel = document.createElement("div");
  panel.id = id;
  panel.className = "ec-tryit-panel";
  panel.hidden = true;
  placeholder.append(button, panel);
  placeholder.hidden = false;
  let mounted: Promise<unknown> | undefined;
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    panel.hidden = !open;
    if (open && !mounted) {
      const { widget } = JSON.parse(config) as { widget: string };
      mounted = import(/* @vite-ignore */ widget).then((module: { mount(panel: HTMLElement, config: string): Promise<void> }) => module.mount(panel, config));
      mounted.catch((error: Error) => {
        panel.textContent = `The image search could not start: ${error.message}`;
        mounted = undefined;
      });
    }
  });
}

for (const element of document.querySelectorAll<HTMLElement>(".ec-tryit[data-tryit]")) enhance(element);
