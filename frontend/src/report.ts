/**
 * The saved report: dllmagic's report drawn in the browser from its own MIME type
 * (`application/vnd.dllmagic.report+json`, the report's JSON that every output carries), for when the
 * widget's model is gone (the notebook was saved and reopened, the kernel stopped or restarted).
 *
 * The renderer is registered on each notebook's rendermime ahead of the widget renderer. It asks the widget
 * renderer first; while the widget draws the report, that is shown. When the widget cannot be drawn ("model
 * not found", no kernel, no widget manager), the report is drawn here: the same look and classes as the
 * widget, Copy and Insert working (they need no kernel), Run / Restart / Switch shown as unavailable.
 * Every text goes in through textContent: nothing from the report is parsed as HTML.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMime } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';
import { REPORT_BASE_CSS } from './docs';

export const REPORT_MIME = 'application/vnd.dllmagic.report+json';
export const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';
/** How long the widget may take to draw before the saved report is shown instead. */
const WIDGET_GRACE_MS = 1500;

type Json = { [key: string]: any };

/** The report's look, shared by the widget (which sends the same rules from the kernel) and this renderer. */
export const REPORT_CSS = REPORT_BASE_CSS + `
.dllmagic-report.jupyter-widgets-disconnected::before,
.dllmagic-report .jupyter-widgets-disconnected::before{content:none!important;display:none!important}
.dllmagic-report.jupyter-widgets-disconnected,.dllmagic-report .jupyter-widgets-disconnected{opacity:1!important}
.dllmagic-report.dllmagic-stale-report button{opacity:.55}
.dllmagic-report .dllmagic-stale,.dllmagic-report .dm-saved-note{color:var(--jp-ui-font-color1,#222);padding:4px 0;
 border-bottom:1px solid var(--jp-border-color2,#ddd);margin-bottom:4px}
.dllmagic-report .dllmagic-stale{font-weight:600}
.dllmagic-report .dm-doc-cli{display:none}
.dllmagic-static .dm-sections details{margin:2px 0}
.dllmagic-static .dm-sections summary{cursor:pointer;font-weight:600;padding:2px 0}
.dllmagic-static .dm-buttons{display:flex;gap:4px;flex-wrap:wrap;margin:4px 0}
.dllmagic-static .dm-buttons button{font:inherit;padding:2px 10px;border-radius:2px;cursor:pointer;
 border:1px solid var(--jp-border-color1,#bbb);background:var(--jp-layout-color2,#eee);
 color:var(--jp-ui-font-color1,#222)}
.dllmagic-static .dm-buttons button:disabled{cursor:not-allowed;opacity:.55}
.dllmagic-static textarea.dm-copy-area{width:100%;font-family:var(--jp-code-font-family,monospace)}
`;

let cssAdded = false;
export function addReportCss(): void {
  if (cssAdded) {
    return;
  }
  cssAdded = true;
  const style = document.createElement('style');
  style.id = 'dllmagic-report-css';
  style.textContent = REPORT_CSS;
  document.head.appendChild(style);
}

function el(tag: string, cls?: string, text?: string): HTMLElement {
  const node = document.createElement(tag);
  if (cls) {
    node.className = cls;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function str(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

/** A cell that holds only blank and `#` lines has nothing to run: it is not offered for insertion. */
export function isCommentOnly(cell: string): boolean {
  return cell.split(/\r?\n/).every(line => !line.trim() || line.trim().startsWith('#'));
}

/** The fixes of a report, numbered from 1 in report order, as the widget and the text report number them. */
function numberedFixes(report: Json): Array<[number, Json, Json]> {
  const out: Array<[number, Json, Json]> = [];
  for (const finding of report.findings ?? []) {
    for (const fix of finding.fixes ?? []) {
      out.push([out.length + 1, finding, fix]);
    }
  }
  return out;
}

function severity(report: Json): string {
  if (!report.ok) {
    return 'error';
  }
  return (report.findings ?? []).length ? 'warning' : 'ok';
}

function evidenceTable(rows: Json[]): HTMLElement {
  const table = el('table', 'dm-ev');
  for (const ev of rows) {
    const tr = el('tr');
    tr.appendChild(el('td', 'dm-k', str(ev.fact)));
    const td = el('td');
    td.appendChild(document.createTextNode(str(ev.value)));
    if (ev.source) {
      td.appendChild(el('span', 'dm-src', ` (${str(ev.source)})`));
    }
    tr.appendChild(td);
    table.appendChild(tr);
  }
  return table;
}

export interface IStaticActions {
  insert(node: HTMLElement, source: string): [boolean, string];
  openDoc(id: string): void;
}

/** Draw the report as the widget does, from its JSON. */
export function renderStatic(report: Json, actions: IStaticActions): HTMLElement {
  const root = el('div', `dllmagic-report dllmagic-static dllmagic-sev-${severity(report)}`);
  const sev = severity(report);
  const top = (report.findings ?? [])[0];
  const note = el(
    'div',
    'dm-saved-note',
    'Saved report: the kernel that made it is not running, so Run, Restart and Switch are off. ' +
      'Copy and Insert work; run the cell again for a live report.'
  );
  root.appendChild(note);
  const head = el('div', 'dm-head');
  head.appendChild(el('span', `dm-badge ${sev}`, sev));
  const headline = top
    ? str(top.summary || top.cause)
    : report.ok
      ? `${str(report.target)} imports fine.`
      : `${str(report.target)}: no diagnosis.`;
  head.appendChild(document.createTextNode(headline));
  root.appendChild(head);
  const sub = el('div', 'dm-sub');
  const it = report.interpreter;
  let subText = `import ${str(report.target)}`;
  if (it) {
    subText += ` · Python ${str(it.version)} (${str(it.environment_kind)})`;
  }
  if (top) {
    subText += ` · confidence ${Math.round(Number(top.confidence) * 100)}%`;
  }
  sub.appendChild(document.createTextNode(subText));
  if (top && top.doc_id) {
    sub.appendChild(document.createTextNode(' · '));
    const link = el('span', 'dm-doc-link', 'learn more');
    link.setAttribute('role', 'link');
    link.setAttribute('tabindex', '0');
    link.dataset.dllmagicDoc = str(top.doc_id);
    link.title = `Opens the page in a tab; in a terminal: dlldoctor docs ${str(top.doc_id)}`;
    sub.appendChild(link);
  }
  root.appendChild(sub);
  const others = (report.findings ?? []).slice(1);
  if (others.length) {
    // In view, as the widget shows them: a pre-flight's useful facts are never folded away.
    const also = el('div', 'dm-also');
    also.appendChild(el('span', 'dm-fixtitle', 'Also found'));
    const ul = el('ul');
    for (const f of others) {
      const li = el('li', '', str(f.summary) + ' ');
      li.appendChild(
        el('span', 'dm-src', `(${str(f.kind)} · ${str(f.cause)}, confidence ${Math.round(Number(f.confidence) * 100)}%)`)
      );
      ul.appendChild(li);
    }
    also.appendChild(ul);
    root.appendChild(also);
  }

  // Evidence, per finding, in collapsed sections (the widget groups the same rows).
  const sections = el('div', 'dm-sections');
  if (it) {
    const d = el('details');
    d.appendChild(el('summary', '', 'Kernel interpreter and expected environment'));
    const rows: Json[] = [
      { fact: 'kernel interpreter', value: it.executable, source: it.source },
      { fact: 'Python', value: `${str(it.version)} (${str(it.implementation)}, ${str(it.architecture)})` },
      { fact: 'environment', value: `${str(it.environment_kind)} at ${str(it.prefix)}` }
    ];
    const exp = report.expected_environment;
    if (exp) {
      rows.push({ fact: 'expected environment', value: exp.description });
      for (const ev of exp.evidence ?? []) {
        rows.push(ev);
      }
    }
    d.appendChild(evidenceTable(rows));
    sections.appendChild(d);
  }
  (report.findings ?? []).forEach((finding: Json, i: number) => {
    const evidence = (finding.evidence ?? []).filter((ev: Json) => ev.fact !== 'kernel interpreter');
    if (!evidence.length) {
      return;
    }
    const d = el('details');
    d.appendChild(el('summary', '', i === 0 ? 'Evidence' : `Evidence: ${str(finding.kind)} · ${str(finding.cause)}`));
    d.appendChild(evidenceTable(evidence));
    sections.appendChild(d);
  });
  if ((report.notes ?? []).length) {
    const d = el('details');
    d.appendChild(el('summary', '', 'Notes'));
    const ul = el('ul');
    for (const n of report.notes) {
      ul.appendChild(el('li', '', str(n)));
    }
    d.appendChild(ul);
    sections.appendChild(d);
  }
  root.appendChild(sections);

  const fixes = numberedFixes(report);
  if (fixes.length) {
    root.appendChild(el('div', 'dm-fixtitle', 'Fixes'));
  }
  for (const [n, , fix] of fixes) {
    root.appendChild(renderFix(n, fix, actions));
  }
  return root;
}

function renderFix(n: number, fix: Json, actions: IStaticActions): HTMLElement {
  const box = el('div', `dm-fix dm-fix-${n}`);
  box.appendChild(el('div', 'dm-fixtitle', `Fix ${n}: ${str(fix.title)}`));
  const meta = [`risk: ${str(fix.risk)}`];
  if (fix.restart && fix.kind !== 'kernel-switch') {
    meta.push('needs a kernel restart afterwards');
  }
  box.appendChild(el('div', 'dm-note', meta.join(' · ')));
  const cell = str(fix.cell);
  if (cell) {
    box.appendChild(el('pre', 'dm-code', cell));
  }
  const buttons = el('div', 'dm-buttons');
  const status = el('div', 'dm-status');
  const button = (label: string, tip: string, enabled: boolean): HTMLButtonElement => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.title = tip;
    b.disabled = !enabled;
    b.className = 'dm-btn-' + label.toLowerCase().replace(/[^a-z]+/g, '-').replace(/^-|-$/g, '');
    buttons.appendChild(b);
    return b;
  };
  if (cell && !isCommentOnly(cell)) {
    button('Insert cell below', "Put this fix in a new cell below this report's cell", true).onclick = () => {
      const [ok, message] = actions.insert(box, cell);
      status.className = ok ? 'dm-status dm-ok' : 'dm-status dm-bad';
      status.textContent = message;
    };
  }
  if (cell.trim()) {
    button('Copy', "Copy the fix's cell source", true).onclick = () => {
      const fallback = () => {
        let area = box.querySelector('textarea.dm-copy-area') as HTMLTextAreaElement | null;
        if (!area) {
          area = document.createElement('textarea');
          area.className = 'dm-copy-area';
          area.readOnly = true;
          area.value = cell;
          box.appendChild(area);
        }
        area.select();
        status.className = 'dm-status dm-note';
        status.textContent = 'Select the text below and copy it (Ctrl+C / ⌘C).';
      };
      if (!navigator.clipboard) {
        fallback();
        return;
      }
      navigator.clipboard.writeText(cell).then(() => {
        status.className = 'dm-status dm-ok';
        status.textContent = 'Copied to the clipboard.';
      }, fallback);
    };
  }
  const off = 'Needs the kernel that made this report; run the cell again for a live report.';
  if (fix.runnable) {
    button('Run', off, false);
  }
  if (fix.kind === 'kernel-switch' && fix.kernel) {
    button('Switch kernel', off, false);
  }
  if (fix.kind === 'restart') {
    button('Restart kernel', off, false);
  }
  if (buttons.childElementCount) {
    box.appendChild(buttons);
  }
  box.appendChild(status);
  return box;
}

/**
 * The renderer for REPORT_MIME in a notebook: the live widget when it can be drawn, else the saved report.
 */
export class ReportRenderer extends Panel implements IRenderMime.IRenderer {
  private staticView = new Widget();
  private widgetView: (IRenderMime.IRenderer & Widget) | null = null;
  private observer: MutationObserver | null = null;
  private timer = 0;
  private retries = 0;
  private model: IRenderMime.IMimeModel | null = null;
  /** The widget renderer factory the current attempt came from (the widget manager replaces its placeholder
   * factory once the notebook's kernel is known; a renderer made before that never draws). */
  private factory: IRenderMime.IRendererFactory | undefined = undefined;

  constructor(
    private readonly options: IRenderMime.IRendererOptions,
    private readonly panel: NotebookPanel,
    private readonly actions: IStaticActions
  ) {
    super();
    this.addClass('dllmagic-output');
    this.addWidget(this.staticView);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    addReportCss();
    const report = model.data[REPORT_MIME] as Json;
    this.staticView.node.textContent = '';
    this.staticView.node.appendChild(renderStatic(report ?? {}, this.actions));
    this.model = model;
    this.retries = 0;
    this.tryWidget();
  }

  /** Ask the widget renderer to draw the report; the saved report stays ready underneath. */
  private tryWidget(): void {
    const model = this.model;
    if (!model || this.isDisposed) {
      return;
    }
    const view = model.data[WIDGET_MIME] as Json | undefined;
    const factory = this.panel.content.rendermime.getFactory(WIDGET_MIME);
    // An untrusted output gets no widget (it could not have a live model anyway): the saved report only.
    if (!view || !view.model_id || !factory || !model.trusted) {
      this.showStatic(true);
      return;
    }
    if (this.widgetView && factory !== this.factory) {
      this.observer?.disconnect();
      this.widgetView.dispose();
      this.widgetView = null;
    }
    this.factory = factory;
    if (!this.widgetView) {
      this.widgetView = factory.createRenderer({ ...this.options, mimeType: WIDGET_MIME }) as IRenderMime.IRenderer &
        Widget;
      this.addWidget(this.widgetView);
      this.observer = new MutationObserver(() => this.decide(false));
      this.observer.observe(this.widgetView.node, { childList: true, subtree: true, characterData: true });
    }
    if (this.retries === 0) {
      this.staticView.hide(); // first attempt: the widget's own "Loading widget..." for a moment
    } else {
      this.widgetView.hide(); // a retry: the saved report stays until the widget has drawn
    }
    void this.widgetView.renderModel(model).catch(() => this.showStatic(true));
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.decide(true), WIDGET_GRACE_MS);
    this.decide(false);
  }

  /** Show the widget while it holds the report; the saved report when it failed, or after the grace time. */
  private decide(graceOver: boolean): void {
    const node = this.widgetView?.node;
    if (!node) {
      return;
    }
    if (node.querySelector('.dllmagic-report')) {
      this.showStatic(false);
    } else if (graceOver || /Error displaying widget/.test(node.textContent ?? '')) {
      this.showStatic(true);
      // A page loaded before the kernel was known: try again once the widget manager is there.
      if (graceOver && this.retries < 40) {
        this.retries += 1;
        window.clearTimeout(this.timer);
        this.timer = window.setTimeout(() => {
          if (this.panel.content.rendermime.getFactory(WIDGET_MIME) !== this.factory) {
            this.tryWidget();
          } else {
            this.decide(true);
          }
        }, 1500);
      }
    }
  }

  private showStatic(on: boolean): void {
    if (on) {
      this.staticView.show();
      this.widgetView?.hide();
    } else {
      this.staticView.hide();
      this.widgetView?.show();
    }
  }

  dispose(): void {
    this.observer?.disconnect();
    window.clearTimeout(this.timer);
    super.dispose();
  }
}
