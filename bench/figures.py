"""Each figure of bench/run.py: what it measures, against which baseline.

A figure function takes the stack and the options and returns its results.
Baselines run in the same invocation, interleaved round by round with what they
are compared to, so that a change of the machine's load hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import ansible_runner
from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import Event, Host, Job, Run, RunStatus
from app.models.timeutil import utcnow
from app.runner import process
from app.runner.sink import EventSink
from app.runner.spec import run_marker
from bench.stack import BIN, Http, Stack, children_of, rss_mb

import processes
from factories import PASSWORD, PING_PLAYBOOK

# The tests' playbook (one debug task) and two tasks more.
THREE_TASKS = (
    PING_PLAYBOOK
    + """\
    - name: run a command
      ansible.builtin.command: "true"
      changed_when: false
    - name: say goodbye
      ansible.builtin.debug:
        msg: goodbye from {{ inventory_hostname }}
"""
)

# One event per item: the cheapest way to make ansible print many events.
NOISY = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: print many lines
      ansible.builtin.debug:
        msg: "line {{{{ item }}}} of a noisy task"
      loop: "{{{{ range({items}) | list }}}}"
"""

# Each item prints the time it was templated at, that is just before ansible
# prints it: the latency measured from there is, if anything, too long.
STAMPED = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: print the time
      ansible.builtin.debug:
        msg: "stamp={{{{ '%.3f' % now().timestamp() }}}}"
      loop: "{{{{ range({items}) | list }}}}"
      loop_control:
        pause: {pause}
"""

HTMX = {"HX-Request": "true"}
_STAMP = re.compile(r"stamp=(\d+\.\d+)")
_CURSOR = re.compile(r'data-cursor="(\d+)"')


@dataclass
class Result:
    name: str
    title: str
    value: float
    unit: str
    goal: str
    met: bool
    baseline: float | None = None
    ratio: float | None = None
    rounds: int = 0
    note: str = ""
    # The 1-minute load average once the figure was measured.
    load: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def ratio_result(
    name: str,
    title: str,
    samples: list[float],
    baselines: list[float],
    limit: float,
    note: str = "",
    unit: str = "s",
) -> Result:
    """A time compared to its baseline's, both medians; met when at most `limit`x."""
    value = statistics.median(samples)
    baseline = statistics.median(baselines)
    ratio = value / baseline
    return Result(
        name,
        title,
        round(value, 3),
        unit,
        f"<= {limit:.2f}x",
        ratio <= limit,
        baseline=round(baseline, 3),
        ratio=round(ratio, 3),
        rounds=len(samples),
        note=note,
    )


def interleaved(rounds: int, *measures: Callable[[], float]) -> list[list[float]]:
    """Call each measure once per round, in turn; the samples of each."""
    samples: list[list[float]] = [[] for _ in measures]
    for _ in range(rounds):
        for found, measure in zip(samples, measures, strict=True):
            found.append(measure())
    return samples


# -- rows and files ----------------------------------------------------------


def local_hosts(stack: Stack, count: int, prefix: str) -> list[Host]:
    hosts = [
        Host(
            name=f"{prefix}{n:03d}",
            address="127.0.0.1",
            port=22,
            connection="local",
            vars={},
        )
        for n in range(count)
    ]
    db.session.add_all(hosts)
    db.session.commit()
    return hosts


def playbook_job(stack: Stack, text: str, hosts: list[Host]) -> Job:
    playbook = stack.make.playbook(files={"site.yml": text})
    return stack.make.job(hosts=hosts, playbook=playbook)


def inventory(hosts: list[Host]) -> dict[str, Any]:
    """The inventory Playdeck gives ansible for these hosts, for the baselines."""
    python = str(BIN / "python")
    return {
        "all": {
            "hosts": {
                host.name: {
                    "ansible_host": host.address,
                    "ansible_port": host.port,
                    "ansible_connection": host.connection,
                    "ansible_python_interpreter": python,
                }
                for host in hosts
            }
        }
    }


def project(folder: Path, text: str, hosts: list[Host]) -> Path:
    """A folder with site.yml and hosts.json, to run ansible-playbook in."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.yml").write_text(text)
    (folder / "hosts.json").write_text(json.dumps(inventory(hosts)))
    return folder


def ansible_playbook(folder: Path) -> float:
    """Seconds `ansible-playbook -i hosts.json site.yml` takes, its output read."""
    start = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "hosts.json", "site.yml"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"ansible-playbook failed:\n{done.stdout.decode()}")
    return seconds


def bare_runner(folder: Path, hosts: list[Host], **what: Any) -> float:
    """Seconds a bare ansible_runner.run() takes: its defaults, no handler."""
    scratch = Path(tempfile.mkdtemp(dir=folder))
    start = time.perf_counter()
    runner = ansible_runner.run(
        private_data_dir=str(scratch), inventory=inventory(hosts), quiet=True, **what
    )
    seconds = time.perf_counter() - start
    if runner.status != "successful":
        raise RuntimeError(f"bare ansible-runner ended {runner.status}")
    return seconds


def bare_playbook(folder: Path, text: str, hosts: list[Host]) -> float:
    scratch = Path(tempfile.mkdtemp(dir=folder))
    (scratch / "project").mkdir()
    (scratch / "project" / "site.yml").write_text(text)
    start = time.perf_counter()
    runner = ansible_runner.run(
        private_data_dir=str(scratch),
        inventory=inventory(hosts),
        playbook="site.yml",
        quiet=True,
    )
    seconds = time.perf_counter() - start
    if runner.status != "successful":
        raise RuntimeError(f"bare ansible-runner ended {runner.status}")
    return seconds


def launched_until_final(stack: Stack, client: Http, job_id: int) -> float:
    """Seconds from the launch request to the run's terminal status in the database."""
    start = time.perf_counter()
    run_id = stack.launch(client, job_id)
    status = stack.wait_final([run_id])[run_id]
    seconds = time.perf_counter() - start
    if status != RunStatus.SUCCESSFUL:
        raise RuntimeError(f"run {run_id} ended {status}; see {stack.folder}")
    return seconds


def event_count(run_id: int) -> int:
    count = db.session.scalar(select(func.count()).where(Event.run_id == run_id))
    db.session.rollback()
    return count or 0


# -- the figures -------------------------------------------------------------


def launch(stack: Stack, options: argparse.Namespace) -> list[Result]:
    return [
        _against_ansible_playbook(
            stack,
            "launch",
            "launch by API until terminal status stored, 3-task playbook",
            THREE_TASKS,
            local_hosts(stack, 1, "launch"),
            options.rounds,
            "baseline: ansible-playbook on the same playbook and inventory",
        )
    ]


def _against_ansible_playbook(
    stack: Stack,
    name: str,
    title: str,
    text: str,
    hosts: list[Host],
    rounds: int,
    note: str,
) -> Result:
    """Launch until stored, against ansible-playbook alone; at most 1.10x.

    ansible-runner alone is timed too, for the note: what of the difference
    is ansible-runner's (its event callback in ansible), what is Playdeck's.
    """
    stack.workers(2)
    job = playbook_job(stack, text, hosts)
    folder = project(stack.folder / name, text, hosts)
    client = stack.api()
    bases, samples, runners = interleaved(
        rounds,
        lambda: ansible_playbook(folder),
        lambda: launched_until_final(stack, client, job.id),
        lambda: bare_playbook(stack.folder, text, hosts),
    )
    result = ratio_result(name, title, samples, bases, 1.10, note=note)
    runner = statistics.median(runners)
    result.note += (
        f"; ansible-runner alone (defaults, no handler): {runner:.2f} s, "
        f"{runner / result.baseline:.2f}x"
    )
    return result


def start(stack: Stack, options: argparse.Namespace) -> list[Result]:
    """From the launch request until the ansible-playbook process exists.

    The process's start time is the kernel's (/proc/PID/stat, in clock ticks
    since boot), compared with the boot-time clock read just before the launch
    request: how often the benchmark looks for the process does not matter.
    """
    stack.workers(2)
    hosts = local_hosts(stack, 1, "start")
    job = playbook_job(stack, THREE_TASKS, hosts)
    client = stack.api()
    samples = []
    for _ in range(max(options.rounds, 5)):
        before = time.clock_gettime(time.CLOCK_BOOTTIME)
        run_id = stack.launch(client, job.id)
        started = _process_start(run_marker(run_id, stack.settings.database_url))
        stack.wait_final([run_id])
        samples.append((started - before) * 1000)
    value = statistics.median(samples)
    return [
        Result(
            "start",
            "launch request until ansible-playbook started, median",
            round(value, 1),
            "ms",
            "< 150 ms",
            value < 150,
            rounds=len(samples),
            note=f"max {max(samples):.0f} ms; process start time from /proc",
        )
    ]


def _process_start(marker: str, timeout: float = 60) -> float:
    """Boot-clock seconds at which the run's ansible-playbook process started."""
    ticks = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in process.run_processes(marker):
            try:
                if b"ansible-playbook" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            return int(stat.rsplit(")", 1)[1].split()[19]) / ticks
        time.sleep(0.005)
    raise RuntimeError("ansible-playbook never started")


def events(stack: Stack, options: argparse.Namespace) -> list[Result]:
    stack.workers(2)
    items = 1000 if options.quick else 3000
    text = NOISY.format(items=items)
    hosts = local_hosts(stack, 1, "noisy")
    job = playbook_job(stack, text, hosts)
    client = stack.api()
    stored: list[int] = []

    def playdeck() -> float:
        start = time.perf_counter()
        run_id = stack.launch(client, job.id)
        stack.wait_final([run_id])
        seconds = time.perf_counter() - start
        stored.append(event_count(run_id))
        return seconds

    bases, samples = interleaved(
        options.heavy_rounds,
        lambda: bare_playbook(stack.folder, text, hosts),
        playdeck,
    )
    result = ratio_result(
        "events",
        f"noisy playbook ({stored[0]} events): launch until all stored",
        samples,
        bases,
        1.15,
        note="baseline: bare ansible-runner, no handler",
    )
    rate = stored[0] / result.value
    ansible_rate = stored[0] / result.baseline
    result.goal = ">= 2000 events/s and <= 1.15x"
    result.met = result.met and rate >= 2000
    result.note = (
        f"{rate:.0f} events/s stored; ansible alone prints {ansible_rate:.0f} "
        f"events/s here; " + result.note
    )
    return [result]


def sink(stack: Stack, options: argparse.Namespace) -> list[Result]:
    """Events the sink stores per second when given them as fast as it takes them."""
    count = 5000 if options.quick else 20000
    config = stack.settings
    samples = []
    for _ in range(options.rounds):
        run = _finished_run(stack, "sink")
        handler = EventSink(run.id, config.event_batch_size, config.event_batch_seconds)
        start = time.perf_counter()
        for n, event in enumerate(_runner_events(count)):
            handler.handle(event)
            if n % 20 == 0:  # ansible-runner checks for a cancel between reads
                handler.tick()
        handler.flush()
        samples.append(count / (time.perf_counter() - start))
        if event_count(run.id) != count:
            raise RuntimeError("the sink lost events")
    value = statistics.median(samples)
    return [
        Result(
            "sink",
            "events the sink stores per second, given them at once",
            round(value),
            "events/s",
            ">= 2000 events/s",
            value >= 2000,
            rounds=len(samples),
            note=f"{count} events like a loop task's; batches of "
            f"{config.event_batch_size} or {config.event_batch_seconds} s",
        )
    ]


def _runner_events(count: int) -> Iterator[dict[str, Any]]:
    """Events as ansible-runner hands them to its handler, for a loop task."""
    for n in range(count):
        host = f"web{n % 20:02d}"
        yield {
            "event": "runner_item_on_ok",
            "event_data": {
                "host": host,
                "task": "print many lines",
                "res": {"changed": False, "msg": f"line {n}"},
            },
            "stdout": f"\x1b[0;32mok: [{host}] => (item={n}) => {{\x1b[0m\r\n"
            f'\x1b[0;32m    "msg": "line {n} of a noisy task"\x1b[0m\r\n'
            "\x1b[0;32m}\x1b[0m",
        }


def latency(stack: Stack, options: argparse.Namespace) -> list[Result]:
    """From an event's printing by ansible until a polling page gets it.

    The page asks for new lines one second after its last answer, as the run
    page's poller does; a second poller asking every 50 ms shows how much of
    that is the pipeline (worker, sink, database, web) and not the waiting.
    """
    stack.workers(2)
    items = 40 if options.quick else 60
    job = playbook_job(
        stack, STAMPED.format(items=items, pause=0.1), local_hosts(stack, 1, "stamp")
    )
    client = stack.api()
    page: list[float] = []
    fast: list[float] = []
    for _ in range(options.heavy_rounds):
        run_id = stack.launch(client, job.id)
        pollers = [
            threading.Thread(target=_poll, args=(stack.browser(), run_id, 1.0, page)),
            threading.Thread(target=_poll, args=(stack.browser(), run_id, 0.05, fast)),
        ]
        for poller in pollers:
            poller.start()
        for poller in pollers:
            poller.join()
        stack.wait_final([run_id])
    value = _percentile(page, 95)
    return [
        Result(
            "latency",
            "event printed until a polling page has it, 95th percentile",
            round(value, 3),
            "s",
            "< 1.5 s",
            value < 1.5,
            rounds=options.heavy_rounds,
            note=f"{len(page)} events; the page asks 1 s after each answer; median "
            f"{statistics.median(page):.2f} s; asking every 50 ms: p95 "
            f"{_percentile(fast, 95):.2f} s",
        )
    ]


def _poll(client: Http, run_id: int, every: float, latencies: list[float]) -> None:
    """Poll the run page's log fragment until it says the run is done."""
    cursor = 0
    while True:
        answer = client.get(f"/runs/{run_id}/log?after={cursor}", HTMX)
        now = time.time()
        body = answer.body.decode()
        latencies.extend(now - float(stamp) for stamp in _STAMP.findall(body))
        if answer.status == 286:
            return
        if answer.status != 200:
            raise RuntimeError(f"poll answered {answer.status}")
        cursor = int(_CURSOR.search(body).group(1))
        time.sleep(every)


def _percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def poll(stack: Stack, options: argparse.Namespace) -> list[Result]:
    """One poll for the 20 newest lines, at the end of a huge log and a small one."""
    small, big = _logs(stack)
    client = stack.browser()

    def poll_of(run_id: int, last: int) -> Callable[[], float]:
        def once() -> float:
            answer = client.get(f"/runs/{run_id}/log?after={last - 20}", HTMX)
            if answer.status != 200 or answer.body.count(b'class="line"') != 20:
                raise RuntimeError(f"poll answered {answer.status}")
            return answer.seconds

        return once

    bases, samples = interleaved(
        options.rounds * 20, poll_of(small, 1000), poll_of(big, 1_000_000)
    )
    result = ratio_result(
        "poll",
        "one poll for new lines, 1,000,000-event run",
        [s * 1000 for s in samples],
        [s * 1000 for s in bases],
        1.5,
        note="baseline: the same poll on a 1,000-event run; 20 new lines each",
        unit="ms",
    )
    return [result]


def page(stack: Stack, options: argparse.Namespace) -> list[Result]:
    """The run page of a 1,000,000-event run: time to the last byte, and size."""
    _, big = _logs(stack)
    client = stack.browser()
    answers = []
    for _ in range(options.rounds * 3):
        answer = client.get(f"/runs/{big}")
        if answer.status != 200:
            raise RuntimeError(f"run page answered {answer.status}")
        answers.append(answer)
    value = statistics.median(a.seconds for a in answers) * 1000
    size = max(len(a.body) for a in answers) / 1e6
    return [
        Result(
            "page",
            "run page of a 1,000,000-event run, whole answer",
            round(value, 1),
            "ms",
            "< 300 ms and < 5 MB",
            value < 300 and size < 5,
            rounds=len(answers),
            note=f"{size:.2f} MB",
        )
    ]


def _logs(stack: Stack) -> tuple[int, int]:
    """Two finished runs with 1,000 and 1,000,000 events, made once per stack."""
    if not hasattr(stack, "logs"):
        small = _finished_run(stack, "small log")
        big = _finished_run(stack, "big log")
        _insert_log(small.id, 1000)
        _insert_log(big.id, 1_000_000)
        stack.logs = (small.id, big.id)
    return stack.logs


def _finished_run(stack: Stack, name: str) -> Run:
    """A run that ended successfully, with no event yet."""
    job = stack.make.job(name=f"{name} {time.monotonic_ns()}", module="ping")
    now = utcnow()
    run = Run(
        job=job,
        status=RunStatus.SUCCESSFUL,
        summary={},
        started_at=now,
        finished_at=now,
    )
    db.session.add(run)
    db.session.commit()
    return run


def _insert_log(run_id: int, count: int, chunk: int = 20000) -> None:
    """Insert a log like a long loop task's, straight into the table."""
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for seq in range(1, count + 1):
        host = f"web{seq % 50:02d}"
        rows.append(
            {
                "run_id": run_id,
                "seq": seq,
                "type": "runner_item_on_ok",
                "host": host,
                "task": "print many lines",
                "stdout": f"\x1b[0;32mok: [{host}] => (item={seq}) => {{\x1b[0m\n"
                f'\x1b[0;32m    "msg": "line {seq} of a noisy task"\x1b[0m\n'
                "\x1b[0;32m}\x1b[0m",
                "created_at": now,
            }
        )
        if len(rows) == chunk:
            db.session.execute(insert(Event), rows)
            rows = []
    if rows:
        db.session.execute(insert(Event), rows)
    db.session.commit()


def queue(stack: Stack, options: argparse.Namespace) -> list[Result]:
    """Many trivial runs queued at once, two workers; bare ansible-runner x2."""
    count = 20 if options.quick else 100
    stack.workers(2)
    hosts = local_hosts(stack, 1, "queue")
    job = stack.make.job(hosts=hosts, module="ping")
    client = stack.api()

    def playdeck() -> float:
        start = time.perf_counter()
        run_ids = [stack.launch(client, job.id) for _ in range(count)]
        ended = stack.wait_final(run_ids, timeout=1800)
        seconds = time.perf_counter() - start
        if set(ended.values()) != {RunStatus.SUCCESSFUL}:
            raise RuntimeError(f"runs ended {set(ended.values())}")
        return seconds

    def bare() -> float:
        # Forked like RQ's work-horses, from a process that imported everything.
        with ProcessPoolExecutor(2, mp_context=get_context("fork")) as pool:
            start = time.perf_counter()
            done = pool.map(
                _bare_ping, [str(stack.folder)] * count, [hosts[0].name] * count
            )
            list(done)
            return time.perf_counter() - start

    bases, samples = interleaved(options.heavy_rounds, bare, playdeck)
    return [
        ratio_result(
            "queue",
            f"{count} trivial runs queued at once, 2 workers, wall time",
            samples,
            bases,
            1.15,
            note="ad-hoc ping on localhost; baseline: bare ansible-runner, 2 at a time",
        )
    ]


def _bare_ping(folder: str, host: str) -> float:
    return bare_runner(
        Path(folder),
        [Host(name=host, address="127.0.0.1", port=22, connection="local")],
        host_pattern="all",
        module="ping",
    )


def hosts(stack: Stack, options: argparse.Namespace) -> list[Result]:
    return [
        _against_ansible_playbook(
            stack,
            "hosts",
            "one run over 500 local hosts, launch until terminal status",
            PING_PLAYBOOK,
            local_hosts(stack, 500, "many"),
            options.heavy_rounds,
            "one debug task, 5 forks; baseline: ansible-playbook",
        )
    ]


def memory(stack: Stack, options: argparse.Namespace) -> list[Result]:
    """Resident memory of a fresh web process and worker, idle after some use."""
    web, port = stack.start_web("memory-web")
    listening = stack.listening()
    worker = stack.start_procfile("worker", "memory-worker")
    run_id = _finished_run(stack, "memory").id
    _insert_log(run_id, 2000)
    for _ in range(4):  # several connections, so that each web worker serves some
        client = Http(port)
        client.login(stack.user.username, PASSWORD)
        for path in ("/", "/runs/", "/jobs/", "/hosts/", f"/runs/{run_id}"):
            client.get(path)
    processes.wait_for(lambda: stack.listening() > listening, 60, "the worker")
    time.sleep(2)
    web_pids = [web.pid, *children_of(web.pid)]
    web_mb = max(rss_mb(pid) for pid in web_pids)
    worker_mb = rss_mb(worker.pid)
    details = ", ".join(f"{rss_mb(pid):.0f}" for pid in web_pids)
    return [
        Result(
            "memory_web",
            "resident memory of an idle web process (largest gunicorn process)",
            round(web_mb, 1),
            "MB",
            "< 120 MB",
            web_mb < 120,
            rounds=1,
            note=f"gunicorn master and workers: {details} MB",
        ),
        Result(
            "memory_worker",
            "resident memory of an idle worker",
            round(worker_mb, 1),
            "MB",
            "< 120 MB",
            worker_mb < 120,
            rounds=1,
            note="python worker.py, after start",
        ),
    ]


FIGURES: dict[str, Callable[[Stack, argparse.Namespace], list[Result]]] = {
    "launch": launch,
    "start": start,
    "events": events,
    "sink": sink,
    "latency": latency,
    "poll": poll,
    "page": page,
    "queue": queue,
    "hosts": hosts,
    "memory": memory,
}
