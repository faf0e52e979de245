"""A TCP proxy on 127.0.0.1 that delays every byte by a fixed time each way,
so a benchmark can put a relay "far away" without a netem qdisc (which
this machine's kernel may lack). Bytes keep their order; only their time
of arrival moves. Runs its own asyncio loop in a daemon thread; stop()
closes the listener and every connection.
"""

import asyncio
import threading
import time


class DelayProxy:
    def __init__(self, target_host, target_port, delay_s):
        self.target = (target_host, target_port)
        self.delay_s = delay_s
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.port = None
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        if not started.wait(10) or self.port is None:
            raise SystemExit("bench: the delay proxy did not start")

    def _run(self, started):
        asyncio.set_event_loop(self.loop)

        async def serve():
            self.server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            started.set()
            async with self.server:
                await self.server.serve_forever()

        try:
            self.loop.run_until_complete(serve())
        except asyncio.CancelledError:
            pass

    async def _connection(self, client_reader, client_writer):
        try:
            relay_reader, relay_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(self._pump(client_reader, relay_writer),
                             self._pump(relay_reader, client_writer), return_exceptions=True)

    async def _pump(self, reader, writer):
        queue = asyncio.Queue()

        async def deliver():
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(1 << 16)
                queue.put_nowait((time.monotonic() + self.delay_s, data or None))
                if not data:
                    break
        except (ConnectionError, OSError):
            queue.put_nowait((time.monotonic(), None))
        await sender

    def stop(self):
        def shut():
            self.server.close()
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
        self.loop.call_soon_threadsafe(shut)
        self.thread.join(10)
