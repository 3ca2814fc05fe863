/**
 * dllmagic's bridge for JupyterLab 4 and Notebook 7.
 *
 * The report widget lives in the kernel (ipywidgets). A kernel cannot insert a cell, restart itself or
 * switch the notebook's kernel, so each report opens a comm to the `dllmagic.bridge` target that this
 * plugin registers on every notebook's kernel. Over it the kernel asks for one of a few actions, and
 * the bridge does it through the notebook model and the session context:
 *
 *   kernel → bridge  {op: "hello", protocol, model_id}          a report exists (on open, or on ping)
 *   bridge → kernel  {op: "ready", protocol, app}                the bridge is here
 *   kernel → bridge  {op: "insert", request, source}             new code cell below the report's cell
 *                    {op: "copy", request, text}                 to the clipboard
 *                    {op: "restart", request}                    restart this notebook's kernel
 *                    {op: "switch-kernel", request, kernel}      change it to an installed kernelspec
 *   bridge → kernel  {op: "result", request, action, ok, message}
 *
 * The report's cell is the cell whose outputs hold the widget's model id; that is found in the
 * notebook model, so it does not matter which cell is active. Nothing here ever executes a cell.
 *
 * A report made by an earlier kernel (before a restart, or saved in the file) has no kernel object
 * behind its buttons: a click on it is stopped here and the report says so. Where the widget cannot be
 * drawn at all (a saved notebook reopened), the report is drawn from its JSON (report.ts).
 *
 * Also here: "learn more" opens the docs page shipped with dllmagic (bundled in docs.ts) in a tab, and the
 * Run log follows its tail unless the user scrolled up in it.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ICodeCellModel } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { DOCS } from './docs';
import { REPORT_MIME, ReportRenderer, addReportCss } from './report';

const TARGET = 'dllmagic.bridge';
const PROTOCOL = 1;
const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';
const MAX_SOURCE = 200_000;
const STALE_TEXT =
  'This report was made by an earlier kernel (it has restarted or stopped since); its buttons do ' +
  'nothing now. Run the cell again for a fresh report.';
/** Log boxes the user scrolled up in (they are left where the user put them); keyed by their fix's box. */
const scrolledUp = new WeakMap<Element, number>();

type Message = { [key: string]: unknown };

function modelIdOf(node: Element): string | null {
  for (const cls of Array.from(node.classList)) {
    if (cls.startsWith('dllmagic-m-')) {
      return cls.slice('dllmagic-m-'.length);
    }
  }
  return null;
}

/** The bridge for one notebook panel: its kernel's comms, and the reports they announced. */
class PanelBridge {
  /** Model ids of the reports the current kernel announced. */
  private live = new Set<string>();
  /** Which report each comm speaks for (from its hello). */
  private modelIds = new Map<string, string>();
  private commInfoDone = false;
  private kernel: Kernel.IKernelConnection | null = null;

  private logObserver: MutationObserver;

  constructor(
    private readonly panel: NotebookPanel,
    private readonly app: JupyterFrontEnd,
    private readonly openDoc: (id: string) => void
  ) {
    const ctx = panel.sessionContext;
    ctx.kernelChanged.connect((_, change) => this.attach(change.newValue), this);
    ctx.statusChanged.connect((_, status) => {
      if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
        this.forget();
        this.markStale(
          status === 'dead'
            ? 'The kernel that made this report has died; run the cell again for a fresh report.'
            : 'The kernel restarted; run the cell again for a fresh report.'
        );
      }
    }, this);
    ctx.connectionStatusChanged.connect((_, status) => {
      if (status === 'connected' && this.kernel) {
        void this.reconnect(this.kernel);
      }
    }, this);
    void ctx.ready.then(() => this.attach(ctx.session?.kernel ?? null));
    panel.node.addEventListener('click', this.onClick, true);
    panel.node.addEventListener('keydown', this.onKey, true);
    panel.node.addEventListener('scroll', this.onScroll, true);
    this.logObserver = new MutationObserver(records => this.followLogs(records));
    this.logObserver.observe(panel.node, { childList: true, subtree: true });
    panel.disposed.connect(() => {
      panel.node.removeEventListener('click', this.onClick, true);
      panel.node.removeEventListener('keydown', this.onKey, true);
      panel.node.removeEventListener('scroll', this.onScroll, true);
      this.logObserver.disconnect();
    });
  }

  /** Insert `source` as a code cell below the cell whose output holds `node` (the saved report's Insert). */
  insertBelowNode(node: HTMLElement, source: string): [boolean, string] {
    const index = this.panel.content.widgets.findIndex(cell => cell.node.contains(node));
    return this.insertAt(index, source);
  }

  private insertAt(index: number, source: string): [boolean, string] {
    const model = this.panel.content.model;
    if (index < 0 || !model) {
      return [false, "The report's cell was not found in this notebook; use Copy."];
    }
    model.sharedModel.insertCell(index + 1, { cell_type: 'code', source, metadata: {} });
    this.panel.content.activeCellIndex = index + 1;
    return [true, `Inserted below as cell ${index + 2}; run it when ready.`];
  }

  /** Every report of this panel made by a kernel that is gone: say so once, at its top. */
  private markStale(text: string, modelId?: string): void {
    const reports = this.panel.node.querySelectorAll('.dllmagic-report:not(.dllmagic-static)');
    reports.forEach(report => {
      const id = modelIdOf(report);
      if (modelId !== undefined && id !== modelId && this.live.has(id ?? '')) {
        return;
      }
      report.classList.add('dllmagic-stale-report');
      let note = report.querySelector(':scope > .dllmagic-stale');
      if (!note) {
        note = document.createElement('div');
        note.className = 'dllmagic-stale';
        report.insertBefore(note, report.firstChild);
      }
      note.textContent = text;
      // "Switching to …" / "Restarting …" were said by the old kernel; they are over now.
      report.querySelectorAll('.dm-bridge-ok').forEach(span => {
        if (/^(Switching to|Restarting)/.test(span.textContent ?? '')) {
          span.textContent = text;
        }
      });
    });
  }

  /** Enter or Space on a "learn more" link opens it, as a click does. */
  private onKey = (event: KeyboardEvent): void => {
    const link = (event.target as Element | null)?.closest?.('[data-dllmagic-doc]') as HTMLElement | null;
    if (link && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault();
      event.stopPropagation();
      this.openDoc(link.dataset.dllmagicDoc ?? '');
    }
  };

  /** Remember whether the user left a Run log scrolled up (then it is not moved to the tail). */
  private onScroll = (event: Event): void => {
    const box = event.target as Element | null;
    if (!box || !(box instanceof HTMLElement) || !box.classList.contains('dm-logwrap')) {
      return;
    }
    const fix = box.closest('.dm-fix') ?? box;
    if (box.scrollTop + box.clientHeight >= box.scrollHeight - 4) {
      scrolledUp.delete(fix);
    } else {
      scrolledUp.set(fix, box.scrollTop);
    }
  };

  /** A new Run log arrived (the kernel replaces it as lines come): keep it at its tail, or where the user was. */
  private followLogs(records: MutationRecord[]): void {
    for (const record of records) {
      record.addedNodes.forEach(added => {
        if (!(added instanceof Element)) {
          return;
        }
        const boxes = added.classList.contains('dm-logwrap')
          ? [added]
          : Array.from(added.querySelectorAll('.dm-logwrap'));
        for (const box of boxes) {
          const fix = box.closest('.dm-fix') ?? box;
          const kept = scrolledUp.get(fix);
          box.scrollTop = kept === undefined ? box.scrollHeight : kept;
        }
      });
    }
  }

  private forget(): void {
    this.live.clear();
    this.commInfoDone = false;
  }

  private attach(kernel: Kernel.IKernelConnection | null): void {
    if (kernel === this.kernel && kernel !== null) {
      return;
    }
    this.forget();
    this.kernel = kernel;
    if (!kernel) {
      return;
    }
    // The registry survives restarts of the same connection, so one registration per connection.
    kernel.registerCommTarget(TARGET, (comm, msg) => this.adopt(comm, msg.content.data as Message));
    void this.reconnect(kernel);
  }

  /** After a page reload the kernel's reports are still alive: find their comms and ask them to say hello. */
  private async reconnect(kernel: Kernel.IKernelConnection): Promise<void> {
    try {
      const reply = await kernel.requestCommInfo({ target_name: TARGET });
      if (reply.content.status === 'ok' && kernel === this.kernel) {
        for (const commId of Object.keys(reply.content.comms)) {
          if (kernel.hasComm(commId)) {
            continue;
          }
          const comm = kernel.createComm(TARGET, commId);
          this.adopt(comm, null);
          comm.send({ op: 'ping', protocol: PROTOCOL });
        }
      }
    } catch (err) {
      console.warn('dllmagic: comm info failed', err);
    }
    if (kernel === this.kernel) {
      this.commInfoDone = true;
    }
  }

  private adopt(comm: Kernel.IComm, first: Message | null): void {
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
      void this.handle(comm, msg.content.data as Message);
    };
    if (first) {
      void this.handle(comm, first);
    }
  }

  private async handle(comm: Kernel.IComm, data: Message): Promise<void> {
    const op = data.op;
    if (op === 'hello') {
      if (typeof data.model_id === 'string') {
        this.live.add(data.model_id);
        this.modelIds.set(comm.commId, data.model_id);
      }
      comm.send({ op: 'ready', protocol: PROTOCOL, app: this.app.name });
      return;
    }
    const request = data.request;
    const reply = (ok: boolean, message: string) =>
      comm.send({ op: 'result', request: request as number, action: op as string, ok, message });
    try {
      if (op === 'insert') {
        reply(...this.insert(comm, data.source));
      } else if (op === 'copy') {
        if (typeof data.text !== 'string' || !data.text.trim()) {
          reply(false, 'Nothing to copy.');
          return;
        }
        await navigator.clipboard.writeText(data.text);
        reply(true, 'Copied to the clipboard.');
      } else if (op === 'restart') {
        reply(true, 'Restarting the kernel…');
        await this.panel.sessionContext.restartKernel();
        this.markStale('The kernel restarted; run the cell again for a fresh report.');
      } else if (op === 'switch-kernel') {
        const name = String(data.kernel ?? '');
        const specs = this.app.serviceManager.kernelspecs.specs?.kernelspecs ?? {};
        if (!specs[name]) {
          reply(false, `There is no kernel named ${name} in this Jupyter.`);
          return;
        }
        const shown = specs[name]?.display_name ?? name;
        reply(true, `Switching to ${shown}…`);
        await this.panel.sessionContext.changeKernel({ name });
        this.markStale(`Switched this notebook to the kernel ${shown}; run the cell again there.`);
      } else {
        reply(false, `Unknown request ${String(op)}.`);
      }
    } catch (err) {
      reply(false, `The front end could not do it: ${String(err)}`);
    }
  }

  /** Insert a code cell holding `source` right below the cell whose output shows this comm's report. */
  private insert(comm: Kernel.IComm, source: unknown): [boolean, string] {
    if (typeof source !== 'string' || source.length > MAX_SOURCE) {
      return [false, 'No cell source to insert.'];
    }
    return this.insertAt(this.cellIndexOf(comm), source);
  }

  private cellIndexOf(comm: Kernel.IComm): number {
    const model = this.panel.content.model;
    if (!model) {
      return -1;
    }
    const wanted = this.modelIds.get(comm.commId);
    for (let i = 0; i < model.cells.length; i++) {
      const cell = model.cells.get(i);
      if (cell.type !== 'code') {
        continue;
      }
      const outputs = (cell as ICodeCellModel).outputs;
      for (let j = 0; j < outputs.length; j++) {
        const view = outputs.get(j).data[WIDGET_MIME] as { model_id?: string } | undefined;
        if (view && view.model_id === wanted) {
          return i;
        }
      }
    }
    return -1;
  }

  /** Capture-phase click filter: a button of a report no live kernel object stands behind says so. */
  private onClick = (event: MouseEvent): void => {
    const target = event.target as Element | null;
    const doc = target?.closest?.('[data-dllmagic-doc]') as HTMLElement | null;
    if (doc) {
      event.stopPropagation();
      event.preventDefault();
      this.openDoc(doc.dataset.dllmagicDoc ?? '');
      return;
    }
    const button = target?.closest?.('button');
    const report = button?.closest('.dllmagic-report');
    if (!button || !report) {
      return;
    }
    const id = modelIdOf(report);
    if (!id || this.live.has(id) || !this.commInfoDone) {
      return;
    }
    event.stopPropagation();
    event.preventDefault();
    report.classList.add('dllmagic-stale-report');
    if (!report.querySelector(':scope > .dllmagic-stale')) {
      const note = document.createElement('div');
      note.className = 'dllmagic-stale';
      note.textContent = STALE_TEXT;
      report.insertBefore(note, report.firstChild);
    }
  };
}

const DOC_ID = /^([a-z0-9][a-z0-9-]{0,80})(?:#([a-z0-9][a-z0-9-]{0,80}))?$/;

/** Open a docs page (a report's doc id, KIND or KIND#CAUSE) rendered as Markdown: a tab in JupyterLab, a
 * browser tab in Notebook 7 (whose main area holds the notebook alone). */
function docOpener(app: JupyterFrontEnd, rendermime: IRenderMimeRegistry): (id: string) => void {
  const open = new Map<string, MainAreaWidget>();
  return (id: string) => {
    const m = DOC_ID.exec(id);
    const text = m ? DOCS[m[1]] : undefined;
    if (!m || text === undefined) {
      window.alert(`dllmagic: no docs page ${id}`);
      return;
    }
    const [kind, cause] = [m[1], m[2]];
    const inLab = app.name === 'JupyterLab';
    const win = inLab ? null : window.open('', '_blank');
    const renderer = rendermime.createRenderer('text/markdown');
    const model = new MimeModel({ data: { 'text/markdown': text }, trusted: false });
    void renderer.renderModel(model).then(() => {
      const section = (where: ParentNode) =>
        Array.from(where.querySelectorAll('h2')).find(h => cause && h.textContent?.trim().startsWith(cause));
      if (win) {
        win.document.title = `dllmagic: ${kind}`;
        const style = win.document.createElement('style');
        style.textContent =
          'body{font-family:sans-serif;max-width:52em;margin:2em auto;padding:0 1em;line-height:1.5}' +
          'pre,code{background:#f4f4f4}pre{padding:6px;overflow:auto}';
        win.document.head.appendChild(style);
        const body = win.document.createElement('div');
        body.className = 'dllmagic-doc';
        body.innerHTML = renderer.node.innerHTML; // already sanitized by the Markdown renderer
        win.document.body.appendChild(body);
        section(win.document)?.scrollIntoView();
        return;
      }
      let widget = open.get(kind);
      if (!widget || widget.isDisposed) {
        renderer.addClass('dllmagic-doc');
        renderer.node.style.overflow = 'auto';
        renderer.node.style.padding = '0 1.5em';
        widget = new MainAreaWidget({ content: renderer });
        widget.id = `dllmagic-doc-${kind}`;
        widget.title.label = `dllmagic: ${kind}`;
        widget.title.closable = true;
        open.set(kind, widget);
        app.shell.add(widget, 'main');
      } else {
        renderer.dispose();
      }
      app.shell.activateById(widget.id);
      const target = section(widget.content.node);
      if (target) {
        target.scrollIntoView();
      }
    });
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'dllmagic:bridge',
  description: "Inserts a dllmagic fix cell below its report's cell; restarts or switches the kernel.",
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, rendermime: IRenderMimeRegistry) => {
    addReportCss();
    const bridges = new WeakMap<NotebookPanel, PanelBridge>();
    const openDoc = docOpener(app, rendermime);
    const add = (panel: NotebookPanel) => {
      if (bridges.has(panel)) {
        return;
      }
      const bridge = new PanelBridge(panel, app, openDoc);
      bridges.set(panel, bridge);
      // Ahead of the widget renderer (rank -10): the saved report when the widget cannot be drawn.
      panel.content.rendermime.addFactory(
        {
          safe: true,
          mimeTypes: [REPORT_MIME],
          defaultRank: -20,
          createRenderer: options =>
            new ReportRenderer(options, panel, {
              insert: (node, source) => bridge.insertBelowNode(node, source),
              openDoc
            })
        },
        -20
      );
    };
    tracker.forEach(add);
    tracker.widgetAdded.connect((_, panel) => add(panel));
  }
};

export default plugin;
