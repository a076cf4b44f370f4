"""The minimal HTTP/1.1 client against raw answers the emulator never sends (a real socket on 127.0.0.1)."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_ice.hooks.http11 import KeepAlivePool, ResponseError


async def serve(answers: list[bytes]):
    """A server answering each request with the next raw answer; returns (server, accepted connection count)."""
    accepted = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted[0] += 1
        while answers:
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"POST /?TaskId=t HTTP/1.1\r\n")
            answer = answers.pop(0)
            if answer == b"HANG":
                await asyncio.sleep(5)
            writer.write(answer)
            await writer.drain()
            if b"connection: close" in answer.lower() or (
                b"content-length" not in answer.lower() and b"chunked" not in answer
            ):
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, accepted


def pool_for(server, read_timeout=2.0) -> KeepAlivePool:
    port = server.sockets[0].getsockname()[1]
    return KeepAlivePool("127.0.0.1", port, None, connect_timeout=2.0, read_timeout=read_timeout, limit=4)


async def test_keep_alive_reuses_one_connection_and_reads_chunked_bodies():
    server, accepted = await serve(
        [
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
            b'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\n{"a\r\n4;ext=1\r\n":1}\r\n0\r\n\r\n',
        ]
    )
    pool = pool_for(server)
    assert await pool.post("/?TaskId=t", {"host": "x"}) == (200, {"content-length": "2"}, b"{}")
    status, _headers, body = await pool.post("/?TaskId=t", {"host": "x"})
    assert (status, body) == (200, b'{"a":1}')
    assert accepted[0] == 1
    await pool.close()
    server.close()


async def test_connection_close_and_unframed_bodies_are_not_reused():
    server, accepted = await serve(
        [
            b"HTTP/1.1 503 Unavailable\r\nconnection: close\r\ncontent-length: 3\r\n\r\nbad",
            b"HTTP/1.0 502 Bad\r\n\r\n<html>",
        ]
    )
    pool = pool_for(server)
    assert (await pool.post("/?TaskId=t", {}))[0::2] == (503, b"bad")
    assert (await pool.post("/?TaskId=t", {}))[0::2] == (502, b"<html>")
    assert accepted[0] == 2
    await pool.close()
    server.close()


@pytest.mark.parametrize(
    "answer",
    [b"SSH-2.0-OpenSSH\r\n", b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}", b"HTTP/1.1 200 OK\r\ncontent-le"],
)
async def test_unreadable_answers_are_connection_errors(answer):
    server, _ = await serve([answer])
    pool = pool_for(server)
    with pytest.raises(ResponseError):
        await pool.post("/?TaskId=t", {})
    await pool.close()
    server.close()


async def test_read_timeout():
    server, _ = await serve([b"HANG"])
    pool = pool_for(server, read_timeout=0.2)
    with pytest.raises(TimeoutError):
        await pool.post("/?TaskId=t", {})
    await pool.close()
    server.close()
