"""Running the report's notebooks: parameters given their values in place, and kernels started
at once over IPC sockets, each running its share of the notebooks in a fresh namespace."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from toolkit.schema import DataError


class ReportError(RuntimeError):
    """A notebook failed, or an exported page broke the offline or privacy rules."""


# Parameters ------------------------------------------------------------------------------------


def _with_values(source: str, parameters: dict) -> str:
    """``source`` with each one-line ``name = default`` of ``parameters`` given its value (the
    comment after it kept); names it does not assign are added at the end."""
    import ast

    lines = source.splitlines()
    todo = dict(parameters)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = ast.Module(body=[], type_ignores=[])
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in todo
            and node.lineno == node.end_lineno
        ):
            name = node.targets[0].id
            line = lines[node.lineno - 1]
            rest = line[node.end_col_offset :]
            comment = rest[rest.index("#") :] if "#" in rest else ""
            assignment = f"{line[: node.col_offset]}{name} = {todo.pop(name)!r}"
            lines[node.lineno - 1] = f"{assignment}  {comment}" if comment else assignment
    lines += [f"{name} = {value!r}" for name, value in todo.items()]
    return "\n".join(lines)


def _set_parameters(nb, parameters: dict) -> int:
    """Give ``parameters`` their values in the notebook's cell tagged ``parameters`` (one added
    on top if it has none) and return its index. The values replace the defaults in place, so a
    page shows one parameters cell, never a second "injected" one."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            cell.source = _with_values(cell.source, parameters)
            return i
    import nbformat

    cell = nbformat.v4.new_code_cell(_with_values("", parameters))
    cell.metadata["tags"] = ["parameters"]
    nb.cells.insert(0, cell)
    return 0


# Running notebooks -----------------------------------------------------------------------------

# Between two notebooks in one kernel: a fresh namespace and the libraries' display state reset,
# so a notebook sees only what it defines (modules stay imported: that is the time saved).
_RESET = """\
get_ipython().run_line_magic("reset", "-f")
def _toolkit_reset():
    import sys
    if "pandas" in sys.modules:
        sys.modules["pandas"].reset_option("display")
    if "bokeh.io" in sys.modules:
        sys.modules["bokeh.io"].reset_output()
_toolkit_reset()
del _toolkit_reset
"""


@dataclass
class _Run:
    notebook: Path
    nb: object
    seconds: float


# Imported by each kernel as soon as it starts, while the report reads and checks the data (a
# notebook's own imports then cost nothing); the reset below leaves no name behind.
_WARM_UP = """\
import importlib
for _name in ("pandas", "bokeh.io", "bokeh.resources", "toolkit", "toolkit.explorers"):
    importlib.import_module(_name)
del importlib, _name
"""


class _Kernels:
    """``jobs`` kernels started at once (IPC transport: Unix sockets, no TCP port, no warning),
    each running notebooks one after another from a shared queue.

    ``start()`` launches them (each imports the toolkit while the caller prepares the data);
    ``run(items, done)`` hands them the notebooks; ``stop()`` shuts down any still running.
    """

    def __init__(self, jobs: int, folder: Path, env: dict, cwd: Path, timeout: int = 600):
        self.jobs, self.folder, self.env, self.cwd, self.timeout = jobs, folder, env, cwd, timeout
        self.kernel_start = 0.0  # the slowest kernel, launch to imports done
        self._tasks: list[asyncio.Future] = []

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._queue: asyncio.Future = loop.create_future()
        self._tasks = [asyncio.ensure_future(self._worker(n)) for n in range(self.jobs)]

    async def _launch(self, n: int):
        from jupyter_client.manager import AsyncKernelManager

        t0 = time.perf_counter()
        km = AsyncKernelManager(kernel_name="python3", transport="ipc")
        km.connection_file = str(self.folder / f"kernel-{n}.json")
        km.ip = str(self.folder / f"kernel-{n}")
        kc = None
        try:
            await km.start_kernel(env=self.env, cwd=str(self.cwd))
            kc = km.client()
            kc.start_channels()
            await kc.wait_for_ready(timeout=120)
            await self._quietly(kc, _WARM_UP, "import the toolkit in a kernel")
        except BaseException:
            await asyncio.shield(self._stop(km, kc))
            raise
        self.kernel_start = max(self.kernel_start, time.perf_counter() - t0)
        return km, kc

    @staticmethod
    async def _quietly(kc, code: str, what: str) -> None:
        reply = await kc.execute_interactive(
            code, silent=True, timeout=120, output_hook=lambda msg: None
        )
        if reply["content"]["status"] != "ok":
            content = reply["content"]
            raise ReportError(f"could not {what}: {content.get('ename')}: {content.get('evalue')}")

    @staticmethod
    async def _stop(km, kc) -> None:
        if kc is not None:
            kc.stop_channels()
        if km.has_kernel:
            await km.shutdown_kernel(now=True)

    async def _worker(self, n: int) -> None:
        km, kc = await self._launch(n)
        try:
            queue, done = await asyncio.shield(self._queue)
            while queue:
                path, nb = queue.pop(0)
                # a fresh namespace for every notebook (modules stay imported)
                await self._quietly(kc, _RESET, "reset a kernel between notebooks")
                t0 = time.perf_counter()
                await self._execute(km, kc, path, nb)
                await done(_Run(path, nb, time.perf_counter() - t0))
        finally:
            await asyncio.shield(self._stop(km, kc))

    async def run(self, items: list[tuple[Path, object]], done) -> None:
        """Execute each ``(path, notebook)``; ``done(_Run)`` is awaited as each one finishes."""
        self._queue.set_result((list(items), done))
        try:
            await asyncio.gather(*self._tasks)
        finally:  # one notebook failed: stop the other kernels too
            await self.stop()

    async def stop(self) -> None:
        """Shut every kernel down: workers given no notebook finish starting and stop; workers
        still running a notebook (another one failed) are cancelled."""
        if not self._queue.done():
            self._queue.set_result(([], None))
        else:
            for task in self._tasks:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _execute(self, km, kc, path: Path, nb) -> None:
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        client = NotebookClient(
            nb,
            km=km,
            timeout=self.timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.kc = kc  # the worker's kernel and channels, kept for its next notebook
        try:
            await client.async_execute()
        except CellExecutionError as err:
            if err.ename == "DataError":
                raise DataError(f"{path.name}: {err.evalue}") from None
            cell = next(
                (
                    c
                    for c in nb.cells
                    if any(o.get("output_type") == "error" for o in c.get("outputs", []))
                ),
                None,
            )
            where = f"cell {cell.execution_count}" if cell is not None else "a cell"
            raise ReportError(f"{path.name} failed in {where}: {err.ename}: {err.evalue}") from None
