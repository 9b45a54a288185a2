"""The master's gRPC server: ``grpc.aio`` on its own event-loop thread, health beside it.

The training loop runs on the main thread (:mod:`master.loop`); this thread serves every RPC
(:mod:`master.servicer`) and the standard ``grpc.health.v1`` service, whose ``""`` and
``election.v1.Election`` entries are SERVING while the run accepts votes. The other threads
talk to it only through :meth:`MasterServer.set_serving` and :meth:`MasterServer.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from master.service import MasterService
from master.servicer import SERVICE_NAME, ElectionServicer, method_handlers
from wire.options import MAX_MESSAGE_BYTES, server_options
from wire.security import TlsFiles, server_credentials

START_TIMEOUT_S = 30.0  # the server thread must bind and start within this
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class MasterServer:
    """``start()`` -> bound port; ``set_serving(False)``; ``stop(grace)``."""

    def __init__(
        self,
        service: MasterService,
        *,
        bind: str = "0.0.0.0",
        port: int = 0,
        tls: TlsFiles | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.service = service
        self.address = f"{bind}:{port}"
        self.tls = tls or TlsFiles()
        self.max_message_bytes = max_message_bytes
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.servicer: ElectionServicer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._grace = 2.0
        self._health: HealthServicer | None = None
        self._thread = threading.Thread(target=self._run, name="grpc-server", daemon=True)

    def start(self) -> int:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise OSError(f"the gRPC server did not start on {self.address}")
        if self._error is not None:
            raise self._error
        return self.port

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # gRPC's aio internals look the loop up by thread
        self.loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported by start()
            self._error = exc
        finally:
            self._ready.set()
            pending = asyncio.all_tasks(loop)  # handlers gRPC left behind after the grace
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        server = grpc.aio.server(options=server_options(max_message_bytes=self.max_message_bytes))
        self.servicer = ElectionServicer(self.service, loop)
        server.add_generic_rpc_handlers((method_handlers(self.servicer),))
        self._health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        creds = server_credentials(self.tls)
        try:
            bound = (
                server.add_secure_port(self.address, creds)
                if creds
                else server.add_insecure_port(self.address)
            )
        except RuntimeError:
            bound = 0
        if bound == 0:
            raise OSError(f"cannot listen on {self.address}")
        await server.start()
        for name in ("", SERVICE_NAME):
            await self._health.set(name, SERVING)
        self.port = bound
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        for name in ("", SERVICE_NAME):
            await self._health.set(name, NOT_SERVING)
        await server.stop(self._grace)
        self.servicer.pool.shutdown(wait=False, cancel_futures=True)

    def set_serving(self, serving: bool) -> None:
        """Health SERVING / NOT_SERVING (from any thread)."""
        loop, health = self.loop, self._health
        if loop is None or health is None or loop.is_closed() or not self._thread.is_alive():
            return
        status = SERVING if serving else NOT_SERVING

        async def update() -> None:
            for name in ("", SERVICE_NAME):
                await health.set(name, status)

        with contextlib.suppress(RuntimeError, TimeoutError):  # the loop is stopping
            asyncio.run_coroutine_threadsafe(update(), loop).result(timeout=5.0)

    def stop(self, grace: float = 2.0, *, wait: bool = True) -> None:
        """Refuse new RPCs, give in-flight ones ``grace`` seconds; idempotent."""
        loop, stop = self.loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            self._grace = grace
            with contextlib.suppress(RuntimeError):  # already closed
                loop.call_soon_threadsafe(stop.set)
        if wait and self._thread.is_alive():
            self._thread.join(grace + 10.0)
