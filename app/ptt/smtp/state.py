"""The server's state machine as data (h11 style). All transitions live here.

States are module-level strings. Three tables:
- COMMANDS[(state, EventClass)] -> next state: the command is valid there.
  A next state starting with "WAIT_" means the application decides: the
  event goes out and send(reply) picks the state from REPLIES.
- REFUSALS[(state, EventClass)] -> Reply for a command out of sequence;
  anything in neither table gets R503_BAD_SEQUENCE.
- REPLIES[(state, positive)] -> next state after the application's reply
  (positive: the code is in POSITIVE[state]). A 421 always closes.
"""
from ptt.smtp.events import Ehlo, Helo, Mail, Rcpt, Data, Rset, Noop, Quit, Vrfy, Help, StartTLS
from ptt.smtp import replies as R

GREETING = "GREETING"      # connected; the caller still has to send the 220
INIT = "INIT"              # greeted; waiting for EHLO/HELO
READY = "READY"            # EHLO done, no transaction
MAIL = "MAIL"              # MAIL accepted, no recipient yet
RCPT = "RCPT"              # at least one recipient accepted
DATA = "DATA"              # reading the message body
TLS_PENDING = "TLS_PENDING"  # 220 to STARTTLS sent; caller does the handshake
CLOSED = "CLOSED"
WAIT_MAIL = "WAIT_MAIL"
WAIT_RCPT0 = "WAIT_RCPT0"  # RCPT while no recipient accepted yet
WAIT_RCPT = "WAIT_RCPT"
WAIT_DATA = "WAIT_DATA"
WAIT_EOM = "WAIT_EOM"      # body read; waiting for the final reply

SESSION = (INIT, READY, MAIL, RCPT)
AFTER_HELLO = (READY, MAIL, RCPT)

COMMANDS = {}
for _s in SESSION:
    COMMANDS[(_s, Ehlo)] = READY       # RFC 5321 4.1.4: EHLO resets
    COMMANDS[(_s, Helo)] = READY
    COMMANDS[(_s, Noop)] = _s
    COMMANDS[(_s, Vrfy)] = _s
    COMMANDS[(_s, Help)] = _s
    COMMANDS[(_s, Quit)] = CLOSED
    COMMANDS[(_s, Rset)] = INIT if _s == INIT else READY
for _s in AFTER_HELLO:
    COMMANDS[(_s, StartTLS)] = TLS_PENDING
COMMANDS[(READY, Mail)] = WAIT_MAIL
COMMANDS[(MAIL, Rcpt)] = WAIT_RCPT0
COMMANDS[(RCPT, Rcpt)] = WAIT_RCPT
COMMANDS[(RCPT, Data)] = WAIT_DATA

REFUSALS = {
    (INIT, Mail): R.R503_HELLO_FIRST,
    (INIT, Rcpt): R.R503_HELLO_FIRST,
    (INIT, Data): R.R503_HELLO_FIRST,
    (INIT, StartTLS): R.R503_HELLO_FIRST,
    (READY, Rcpt): R.R503_MAIL_FIRST,
    (READY, Data): R.R503_MAIL_FIRST,
    (MAIL, Mail): R.R503_NESTED_MAIL,
    (RCPT, Mail): R.R503_NESTED_MAIL,
    (MAIL, Data): R.R554_NO_RECIPIENTS,   # RFC 5321 3.3
}

POSITIVE = {
    GREETING: (220,),
    WAIT_MAIL: (250,),
    WAIT_RCPT0: (250, 251),
    WAIT_RCPT: (250, 251),
    WAIT_DATA: (354,),
    WAIT_EOM: (250,),
}

REPLIES = {
    (GREETING, True): INIT,
    (GREETING, False): CLOSED,     # 554/421 banner: we close (RFC 5321 3.1)
    (WAIT_MAIL, True): MAIL,
    (WAIT_MAIL, False): READY,
    (WAIT_RCPT0, True): RCPT,
    (WAIT_RCPT0, False): MAIL,
    (WAIT_RCPT, True): RCPT,
    (WAIT_RCPT, False): RCPT,
    (WAIT_DATA, True): DATA,
    (WAIT_DATA, False): RCPT,
    (WAIT_EOM, True): READY,
    (WAIT_EOM, False): READY,
}
