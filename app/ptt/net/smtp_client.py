"""Send mail over a socket with ptt.smtp.client.ClientConnection.

    results = await send(host, port, "me.example.org", [Transaction(...)],
                         tls_context=compat.client_context())
returns one TransactionDone per transaction (every recipient DELIVERED,
TEMPORARY or PERMANENT, with the remote reply). STARTTLS is used when the
server offers it and tls_context is given (opportunistic unless
require_tls); a failed handshake fails the session (TEMPORARY), with no
fallback to plaintext on the same connection.
"""
from ptt.net import compat
from ptt.smtp.client import ClientConnection, TransactionDone
from ptt.smtp.events import NEED_DATA, ConnectionClosed, StartTLS
from ptt.smtp.replies import Reply

TIMEOUT = Reply(421, "4.4.2", "remote server did not answer in time; retry later")
# Replies are short. MicroPython allocates the whole size asked for on every
# read: 64 KiB reads made gigabytes of garbage in a large fan-out.
REPLY_READ = 4096


async def send(host, port, local_hostname, transactions, tls_context=None,
               require_tls=False, timeout=300, server_hostname=None):
    client = ClientConnection(local_hostname, transactions,
                              tls_available=tls_context is not None,
                              require_tls=require_tls)
    done = []
    writer = None
    try:
        reader, writer = await compat.wait_for(compat.open_connection(host, port), timeout)
        compat.set_nodelay(writer)
        while True:
            ev = client.next_event()
            if ev is NEED_DATA:
                out = client.data_to_send()
                if out:
                    await compat.write(writer, out)
                try:
                    data = await compat.wait_for(compat.read(reader, REPLY_READ), timeout)
                except compat.TimeoutError_:
                    client.fail(TIMEOUT)
                    continue
                client.receive_data(data)
                continue
            t = type(ev)
            if t is TransactionDone:
                done.append(ev)
            elif t is StartTLS:
                reader, writer = await compat.start_tls(
                    reader, writer, tls_context, False, server_hostname or host)
                client.tls_started()
            elif t is ConnectionClosed:
                out = client.data_to_send()
                if out:
                    await compat.write(writer, out)
                break
    except (OSError, compat.TimeoutError_) as e:
        client.fail(Reply(421, "4.4.1", "connection to %s:%s failed (%r); retry later" % (host, port, e)))
        while True:
            ev = client.next_event()
            if type(ev) is TransactionDone:
                done.append(ev)
            elif type(ev) is ConnectionClosed or ev is NEED_DATA:
                break
    finally:
        if writer is not None:
            await compat.close(writer)
    return done
