"""A real SMTP server for the end-to-end tests (aiosmtpd, from PyPI).

Listens on 127.0.0.1 on a port the system picks, prints that port on the first line of
stdout, and writes every message it accepts into the directory named by its argument, one
file per message (NNNN.eml, renamed into place once complete), the envelope recipients on a
first `X-Envelope-To:` line. It stops when its standard input closes, so a test that dies
takes it along.
"""

import asyncio
import pathlib
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out: pathlib.Path):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = f"{self.count:04d}.eml"
        tmp = self.out / f".{name}.tmp"
        rcpt = ",".join(envelope.rcpt_tos).encode()
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        tmp.write_bytes(b"X-Envelope-To: " + rcpt + b"\r\n" + content)
        tmp.rename(self.out / name)
        return "250 OK"


async def main() -> None:
    out = pathlib.Path(sys.argv[1])
    loop = asyncio.get_running_loop()
    sink = Sink(out)
    server = await loop.create_server(lambda: SMTP(sink), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
