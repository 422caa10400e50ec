"""SMTP command parsers: the argument bytes after the verb -> an event, or
Refuse(reply). RFC 5321 section 4.1.1 gives each command's form."""
from ptt.smtp import replies as R
from ptt.smtp.events import Ehlo, Helo, Mail, Rcpt, Data, Rset, Noop, Quit, Vrfy, Help, StartTLS
from ptt.smtp.parse import parse_path, parse_params, SyntaxError_, is_ascii, decode_utf8


class Refuse(Exception):
    def __init__(self, reply):
        super().__init__(reply.text)
        self.reply = reply


def _printable(b):
    for c in b:
        if c < 32 or c >= 127:
            return False
    return True


def _no_args(cls):
    def parse(arg):
        if arg:
            raise Refuse(R.R501_NO_ARGUMENTS)
        return cls()
    return parse


def _hello(cls):
    def parse(arg):
        arg = arg.strip()
        if not arg or not _printable(arg):
            raise Refuse(R.R501_HELLO_ARGUMENT)
        return cls(arg.decode())
    return parse


def _path_event(cls, keyword, allow_null, bad_reply):
    klen = len(keyword)

    def parse(arg):
        if arg[:klen].upper() != keyword:
            raise Refuse(R.R501_SYNTAX)
        arg = arg[klen:].lstrip(b" ")   # tolerate "MAIL FROM: <a@b>"
        try:
            path, rest = parse_path(arg, allow_null, not allow_null)
        except SyntaxError_:
            raise Refuse(bad_reply)
        try:
            params = parse_params(rest)
        except SyntaxError_:
            raise Refuse(R.R501_SYNTAX)
        non_ascii = not is_ascii(path)
        try:
            text = decode_utf8(path) if non_ascii else path.decode()
        except SyntaxError_:
            raise Refuse(bad_reply)
        ev = cls(text, params)
        ev._raw_non_ascii = non_ascii
        return ev
    return parse


def _vrfy(arg):
    if not arg.strip():
        raise Refuse(R.R501_VRFY_ARGUMENT)
    return Vrfy(arg.decode())


def _noop(arg):
    return Noop()   # RFC 5321 4.1.1.9: an argument is allowed and ignored


def _help(arg):
    return Help(arg.decode())


PARSERS = {
    "EHLO": _hello(Ehlo),
    "HELO": _hello(Helo),
    "MAIL": _path_event(Mail, b"FROM:", True, R.R501_BAD_SENDER),
    "RCPT": _path_event(Rcpt, b"TO:", False, R.R501_BAD_RECIPIENT),
    "DATA": _no_args(Data),
    "RSET": _no_args(Rset),
    "QUIT": _no_args(Quit),
    "STARTTLS": _no_args(StartTLS),
    "NOOP": _noop,
    "VRFY": _vrfy,
    "HELP": _help,
}
