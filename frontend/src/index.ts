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
 * behind its buttons: a click on it is stopped here and the report says so.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICodeCellModel } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';

const TARGET = 'dllmagic.bridge';
const PROTOCOL = 1;
const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';
const MAX_SOURCE = 200_000;
const STALE_TEXT =
  'This report was made by an earlier kernel (it has restarted or stopped since); its buttons do ' +
  'nothing now. Run the cell again for a fresh report.';

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

  constructor(
    private readonly panel: NotebookPanel,
    private readonly app: JupyterFrontEnd
  ) {
    const ctx = panel.sessionContext;
    ctx.kernelChanged.connect((_, change) => this.attach(change.newValue), this);
    ctx.statusChanged.connect((_, status) => {
      if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
        this.forget();
      }
    }, this);
    ctx.connectionStatusChanged.connect((_, status) => {
      if (status === 'connected' && this.kernel) {
        void this.reconnect(this.kernel);
      }
    }, this);
    void ctx.ready.then(() => this.attach(ctx.session?.kernel ?? null));
    panel.node.addEventListener('click', this.onClick, true);
    panel.disposed.connect(() => panel.node.removeEventListener('click', this.onClick, true));
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
        if (typeof data.text !== 'string') {
          reply(false, 'Nothing to copy.');
          return;
        }
        await navigator.clipboard.writeText(data.text);
        reply(true, 'Copied to the clipboard.');
      } else if (op === 'restart') {
        reply(true, 'Restarting the kernel…');
        await this.panel.sessionContext.restartKernel();
      } else if (op === 'switch-kernel') {
        const name = String(data.kernel ?? '');
        const specs = this.app.serviceManager.kernelspecs.specs?.kernelspecs ?? {};
        if (!specs[name]) {
          reply(false, `There is no kernel named ${name} in this Jupyter.`);
          return;
        }
        reply(true, `Switching to ${specs[name]?.display_name ?? name}…`);
        await this.panel.sessionContext.changeKernel({ name });
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
    const index = this.cellIndexOf(comm);
    const model = this.panel.content.model;
    if (index < 0 || !model) {
      return [false, "The report's cell was not found in this notebook; use Copy."];
    }
    model.sharedModel.insertCell(index + 1, { cell_type: 'code', source, metadata: {} });
    this.panel.content.activeCellIndex = index + 1;
    return [true, `Inserted below as cell ${index + 2}; run it when ready.`];
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
    if (!report.querySelector(':scope > .dllmagic-stale')) {
      const note = document.createElement('div');
      note.className = 'dllmagic-stale';
      note.textContent = STALE_TEXT;
      note.style.cssText = 'color:#c62828;font-weight:600;padding:4px 0';
      report.insertBefore(note, report.firstChild);
    }
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'dllmagic:bridge',
  description: "Inserts a dllmagic fix cell below its report's cell; restarts or switches the kernel.",
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    const bridges = new WeakMap<NotebookPanel, PanelBridge>();
    const add = (panel: NotebookPanel) => {
      if (!bridges.has(panel)) {
        bridges.set(panel, new PanelBridge(panel, app));
      }
    };
    tracker.forEach(add);
    tracker.widgetAdded.connect((_, panel) => add(panel));
  }
};

export default plugin;
