"""A TCP forwarder that can be shut like a gate, to take a server out of reach
and bring it back without restarting it (its data stays).

    python tcp_gate.py LISTEN_PORT TARGET_PORT OPEN_FLAG_FILE

While OPEN_FLAG_FILE exists, connections to 127.0.0.1:LISTEN_PORT are
forwarded to 127.0.0.1:TARGET_PORT; once it is removed, open connections are
cut and new ones are closed at once (what a client sees of a store that went
down). Prints "ready" when listening.
"""
import asyncio
import os
import sys

listen_port, target_port, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
open_writers = set()


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def handle(reader, writer):
    if not os.path.exists(flag):
        writer.close()
        return
    try:
        target_reader, target_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        writer.close()
        return
    open_writers.update((writer, target_writer))
    try:
        await asyncio.gather(pipe(reader, target_writer), pipe(target_reader, writer))
    finally:
        open_writers.discard(writer)
        open_writers.discard(target_writer)


async def watch_flag():
    while True:
        if not os.path.exists(flag):
            for writer in list(open_writers):
                writer.transport.abort()
            open_writers.clear()
        await asyncio.sleep(0.05)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    print("ready", flush=True)
    asyncio.ensure_future(watch_flag())
    async with server:
        await server.serve_forever()


asyncio.run(main())
