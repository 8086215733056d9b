#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Test support: fakes of the libgpiod command-line tools (gpiodetect, gpioinfo, gpioget, gpioset,
# gpiomon) as shipped in Debian's `gpiod` package: version 1.6 (Raspberry Pi OS Bookworm) or 2.x
# (Trixie), chosen by fake-gpiod.json next to the tool. Each tool is a symlink to this file; it acts
# as the tool named by argv[0]. `fakegpio` (also a symlink) is the outside world: it presses and
# releases buttons. Only python3 is needed at run time.
#
# Unkind on purpose, as the real tools are:
# - v1 gpiomon writes events with stdio and never flushes: when stdout is not a tty it is
#   block-buffered (4096 bytes) unless -b/--line-buffered is given; SIGTERM flushes (the real tool
#   calls exit() from its signal handler). v2 gpiomon flushes before every wait.
# - Each version takes only its own flags; others are a usage error (exit 1) with getopt's message.
#   v1: `gpiomon [-b] [-B bias] [-r|-f] CHIP OFFSET...`, bias as-is|disable|pull-down|pull-up.
#   v2: `gpiomon -c CHIP [-e rising|falling|both] [-b|--bias pull-up|pull-down|disabled] LINE...`.
# - Output formats per version (gpiomon events, gpioget values, gpioinfo rows).
# - A line requested by a live process is busy (EBUSY) for every other request, as in the kernel.
# - Pulls are physical: the reset default is pull-up on BCM 0-8 and pull-down on 9-27; a bias given
#   with a request stays in the pad after release (as on a Pi). A button that is not pressed leaves
#   its line floating, so it reads what the pull gives: an active-low button without a pull-up
#   reads "pressed".
#
# State lives in state.json (under an flock on state.lock); every level change of a line is
# appended to events/<chip>-<offset>, which gpiomon follows.
import fcntl
import getopt
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(sys.argv[0]))
PROG = os.path.basename(sys.argv[0])
CONF = json.load(open(os.path.join(HERE, 'fake-gpiod.json')))
V = int(CONF['version'])
STATE = os.path.join(HERE, 'state.json')
EVENTS = os.path.join(HERE, 'events')
stopping = False


def die(msg, code=1):
    sys.stderr.write('%s: %s\n' % (PROG, msg))
    sys.stderr.flush()
    sys.exit(code)


def die_errno(msg, err):
    die('%s: %s' % (msg, os.strerror(err)))


def parse_opts(argv, short, long):
    try:
        return getopt.getopt(argv, short, long)
    except getopt.GetoptError as e:
        if 'requires argument' in e.msg:
            sys.stderr.write("%s: option requires an argument -- '%s'\n" % (PROG, e.opt))
        elif len(e.opt) > 1 or e.msg.startswith('option --'):
            sys.stderr.write("%s: unrecognized option '--%s'\n" % (PROG, e.opt))
        else:
            sys.stderr.write("%s: invalid option -- '%s'\n" % (PROG, e.opt))
        die('try %s --help' % PROG)


def version_exit():
    ver = CONF.get('versionText', '1.6.3' if V == 1 else '2.1.3')
    print('%s (libgpiod) v%s' % (PROG, ver))
    sys.exit(0)


# ---- chips and lines ----

def chips():
    return CONF['chips']


def main_chip():
    return next(c for c in chips() if c.get('main'))


def find_chip(ident):
    """By number, name or /dev path, as both versions' tools look a chip up."""
    name = 'gpiochip' + ident if ident.isdigit() else ident
    if name.startswith('/dev/'):
        name = name[5:]
    return next((c for c in chips() if c['name'] == name), None)


def line_name(chip, offset):
    return 'GPIO%d' % offset if chip.get('main') and offset < 28 else None


def key(chip, offset):
    return '%s-%d' % (chip['name'], offset)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def default_line(chip, offset):
    return {'pull': 'up' if chip.get('main') and offset <= 8 else 'down', 'driven': None,
            'dir': 'input', 'out': 0, 'pid': None, 'consumer': None, 'bias': None, 'edges': None}


def get_line(st, chip, offset):
    ln = st.setdefault(key(chip, offset), default_line(chip, offset))
    if ln['pid'] is not None and not alive(ln['pid']):
        # The kernel releases a line when its holder dies, even by SIGKILL.
        ln.update(pid=None, consumer=None, bias=None, edges=None)
    return ln


def level(ln):
    if ln['dir'] == 'output':
        return ln['out']
    if ln['driven'] is not None:
        return ln['driven']
    return 1 if ln['pull'] == 'up' else 0


def change(st, chip, offset, **fields):
    """Applies fields to a line; appends to its event log if its level changed."""
    ln = get_line(st, chip, offset)
    before = level(ln)
    ln.update(fields)
    after = level(ln)
    if after != before:
        os.makedirs(EVENTS, exist_ok=True)
        with open(os.path.join(EVENTS, key(chip, offset)), 'a') as f:
            f.write('%d %d\n' % (after, time.monotonic_ns()))
    return ln


def locked(fn):
    with open(os.path.join(HERE, 'state.lock'), 'a+') as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            with open(STATE) as f:
                st = json.load(f)
        except FileNotFoundError:
            st = {}
        result = fn(st)
        tmp = '%s.%d' % (STATE, os.getpid())
        with open(tmp, 'w') as f:
            json.dump(st, f)
        os.replace(tmp, STATE)
        return result


PULLS = {'pull-up': 'up', 'pull-down': 'down', 'disable': 'none', 'disabled': 'none'}


def request(chip, offsets, consumer, direction, bias, edges=None, values=None, busy_msg=''):
    """Requests lines for this process, or dies with EBUSY like the kernel."""
    def go(st):
        for o in offsets:
            ln = get_line(st, chip, o)
            if ln['pid'] is not None and ln['pid'] != os.getpid():
                return False
        for i, o in enumerate(offsets):
            f = {'pid': os.getpid(), 'consumer': consumer, 'dir': direction, 'edges': edges}
            if bias is not None:
                f.update(bias=bias, pull=PULLS[bias])
            if values is not None:
                f['out'] = values[i]
            change(st, chip, o, **f)
        pos = {}
        for o in offsets:
            p = os.path.join(EVENTS, key(chip, o))
            pos[o] = os.path.getsize(p) if os.path.exists(p) else 0
        return {'pos': pos, 'levels': {o: level(get_line(st, chip, o)) for o in offsets}}
    got = locked(go)
    if got is False:
        die_errno(busy_msg, 16)
    return got


def release(chip, offsets):
    def go(st):
        for o in offsets:
            ln = get_line(st, chip, o)
            if ln['pid'] == os.getpid():
                ln.update(pid=None, consumer=None, bias=None, edges=None)
    locked(go)


def on_signal(_sig, _frame):
    global stopping
    stopping = True


def hold_until_signal():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stopping:
        time.sleep(0.02)


def parse_offset_v1(chip, arg):
    try:
        o = int(arg, 10)
    except ValueError:
        die('invalid GPIO offset: %s' % arg)
    if o < 0 or o >= chip['lines']:
        die_errno('unable to retrieve GPIO lines from chip', 22)
    return o


def resolve_v2(chip_id, ids):
    """v2 line lookup: offsets on -c CHIP, else line names on any chip. Returns (chip, offsets)."""
    chip = None
    if chip_id is not None:
        chip = find_chip(chip_id)
        if chip is None:
            die("cannot find GPIO chip character device '%s'" % chip_id)
    offsets = []
    for i in ids:
        if chip is not None and i.isdigit():
            if int(i) >= chip['lines']:
                sys.stderr.write("%s: offset %s is out of range on chip '%s'\n" % (PROG, i, chip_id))
                sys.exit(1)
            offsets.append(int(i))
            continue
        for c in ([chip] if chip else chips()):
            hit = next((o for o in range(c['lines']) if line_name(c, o) == i), None)
            if hit is not None:
                chip = c
                offsets.append(hit)
                break
        else:
            sys.stderr.write("%s: cannot find line '%s'\n" % (PROG, i))
            sys.exit(1)
    return chip, offsets


def check_bias_v1(b):
    if b not in ('as-is', 'disable', 'pull-down', 'pull-up'):
        die('invalid bias: %s' % b)
    return None if b == 'as-is' else b


def check_bias_v2(b):
    if b not in ('pull-up', 'pull-down', 'disabled'):
        die('invalid bias: %s' % b)
    return b


# ---- tools ----

def gpiodetect(argv):
    opts, args = parse_opts(argv, 'hv', ['help', 'version'])
    for o, _ in opts:
        if o in ('-v', '--version'):
            version_exit()
        if o in ('-h', '--help'):
            print('Usage: %s [OPTIONS]' % PROG)
            return
    sel = chips() if not args else [find_chip(a) for a in args]
    for c in sorted((c for c in sel if c), key=lambda c: int(c['name'][8:])):
        print('%s [%s] (%d lines)' % (c['name'], c['label'], c['lines']))


def gpioinfo(argv):
    st = json.load(open(STATE)) if os.path.exists(STATE) else {}

    def info(c, o):
        ln = st.get(key(c, o)) or default_line(c, o)
        if ln['pid'] is not None and not alive(ln['pid']):
            ln = dict(ln, pid=None, consumer=None, bias=None, edges=None)
        return ln

    if V == 1:
        opts, args = parse_opts(argv, 'hv', ['help', 'version'])
        if any(o in ('-v', '--version') for o, _ in opts):
            version_exit()
        sel = chips() if not args else []
        for a in args:
            c = find_chip(a)
            if c is None:
                die_errno('unable to access GPIO chip %s' % a, 2)  # real: gpiod_chip_open_lookup fails
            sel.append(c)
        for c in sel:
            print('%s - %d lines:' % (c['name'], c['lines']))
            for o in range(c['lines']):
                ln = info(c, o)
                name = line_name(c, o)
                flags = (['used'] if ln['pid'] else []) + {'pull-up': ['pull-up'], 'pull-down': ['pull-down'],
                                                           'disable': ['bias-disabled']}.get(ln['bias'] or '', [])
                print('\tline %3d: %12s %12s %7s %12s %s' % (
                    o, '"%s"' % name if name else 'unnamed', '"%s"' % ln['consumer'] if ln['consumer'] else 'unused',
                    ln['dir'], 'active-high', ('[%s]' % ' '.join(flags)) if flags else ''))
        return
    opts, args = parse_opts(argv, 'c:hsv', ['by-name', 'chip=', 'help', 'strict', 'unquoted', 'version'])
    chip_id = None
    for o, a in opts:
        if o in ('-v', '--version'):
            version_exit()
        if o in ('-c', '--chip'):
            chip_id = a
    if args:
        chip, offsets = resolve_v2(chip_id, args)
        rows = [(chip, o, True) for o in offsets]
    else:
        sel = chips() if chip_id is None else [find_chip(chip_id)]
        if sel == [None]:
            die("cannot find GPIO chip character device '%s'" % chip_id)
        rows = [(c, o, False) for c in sel for o in range(c['lines'])]
    for c, o, picked in rows:
        ln = info(c, o)
        if not picked and o == 0:
            print('%s - %d lines:' % (c['name'], c['lines']))
        name = line_name(c, o)
        shown = ('"%s"' % name) if name else 'unnamed'
        attrs = ln['dir']
        if ln['bias']:
            attrs += ' bias=%s' % ln['bias']
        if ln['edges']:
            attrs += ' edges=%s' % ln['edges']
        if ln['pid']:
            attrs += ' consumer="%s"' % ln['consumer']
        head = '%s %d' % (c['name'], o) if picked else '\tline %3d:' % o
        print('%s\t%-16s\t%s' % (head, shown, attrs))


def gpioget(argv):
    if V == 1:
        opts, args = parse_opts(argv, 'hvlnB:', ['help', 'version', 'active-low', 'dir-as-is', 'bias='])
        bias = None
        for o, a in opts:
            if o in ('-v', '--version'):
                version_exit()
            if o in ('-B', '--bias'):
                bias = check_bias_v1(a)
        if len(args) < 1:
            die('gpiochip must be specified')
        if len(args) < 2:
            die('at least one GPIO line offset must be specified')
        chip = find_chip(args[0])
        if chip is None:
            die_errno('unable to open %s' % args[0], 2)
        offsets = [parse_offset_v1(chip, a) for a in args[1:]]
        got = request(chip, offsets, 'gpioget', 'input', bias, busy_msg='error reading GPIO values')
        release(chip, offsets)
        print(' '.join(str(got['levels'][o]) for o in offsets))
        return
    opts, args = parse_opts(argv, 'ab:c:C:hlp:sv', ['active-low', 'as-is', 'bias=', 'by-name', 'chip=', 'consumer=',
                                                   'help', 'hold-period=', 'numeric', 'strict', 'unquoted', 'version'])
    bias, chip_id, numeric = None, None, False
    for o, a in opts:
        if o in ('-v', '--version'):
            version_exit()
        if o in ('-b', '--bias'):
            bias = check_bias_v2(a)
        if o in ('-c', '--chip'):
            chip_id = a
        if o == '--numeric':
            numeric = True
    if not args:
        die('at least one GPIO line must be specified')
    chip, offsets = resolve_v2(chip_id, args)
    got = request(chip, offsets, 'gpioget', 'input', bias, busy_msg='unable to request lines')
    release(chip, offsets)
    vals = [got['levels'][o] for o in offsets]
    print(' '.join(str(v) if numeric else '"%s"=%s' % (i, 'active' if v else 'inactive') for i, v in zip(args, vals)))


def parse_value(s):
    table = {'0': 0, '1': 1, 'active': 1, 'inactive': 0, 'on': 1, 'off': 0, 'true': 1, 'false': 0}
    if V == 1:
        table = {'0': 0, '1': 1}
    if s not in table:
        die('invalid value: %s' % s)
    return table[s]


def gpioset(argv):
    if V == 1:
        opts, args = parse_opts(argv, 'hvlB:D:m:s:u:b', ['help', 'version', 'active-low', 'bias=', 'drive=', 'mode=',
                                                        'sec=', 'usec=', 'background'])
        bias, mode = None, 'exit'
        for o, a in opts:
            if o in ('-v', '--version'):
                version_exit()
            if o in ('-B', '--bias'):
                bias = check_bias_v1(a)
            if o in ('-m', '--mode'):
                if a not in ('exit', 'wait', 'time', 'signal'):
                    die('invalid mode: %s' % a)
                mode = a
        if len(args) < 1:
            die('gpiochip must be specified')
        if len(args) < 2:
            die('at least one GPIO line offset to value mapping must be specified')
        chip = find_chip(args[0])
        if chip is None:
            die_errno('unable to open %s' % args[0], 2)
        pairs = []
        for a in args[1:]:
            if '=' not in a:
                die('invalid offset<->value mapping: %s' % a)
            o, v = a.split('=', 1)
            pairs.append((parse_offset_v1(chip, o), parse_value(v)))
        offsets = [o for o, _ in pairs]
        request(chip, offsets, 'gpioset', 'output', bias, values=[v for _, v in pairs],
                busy_msg='error setting the GPIO line values')
        if mode in ('signal', 'wait'):
            hold_until_signal()
        release(chip, offsets)
        return
    opts, args = parse_opts(argv, 'b:c:C:d:hlp:st:vz', ['active-low', 'bias=', 'by-name', 'chip=', 'consumer=',
                                                       'daemonize', 'drive=', 'help', 'hold-period=', 'strict',
                                                       'toggle=', 'unquoted', 'version'])
    bias, chip_id = None, None
    for o, a in opts:
        if o in ('-v', '--version'):
            version_exit()
        if o in ('-b', '--bias'):
            bias = check_bias_v2(a)
        if o in ('-c', '--chip'):
            chip_id = a
    if not args:
        die('at least one GPIO line value must be specified')
    ids, vals = [], []
    for a in args:
        if '=' not in a:
            die('invalid line value: %s' % a)
        i, v = a.split('=', 1)
        ids.append(i)
        vals.append(parse_value(v))
    chip, offsets = resolve_v2(chip_id, ids)
    request(chip, offsets, 'gpioset', 'output', bias, values=vals,
            busy_msg="unable to request lines on chip '/dev/%s'" % chip['name'])
    hold_until_signal()
    release(chip, offsets)


class Stdout:
    """stdio's stdout as the C tools have it: line-buffered on a tty, else a 4096-byte block buffer."""

    def __init__(self, line_buffered):
        self.line = line_buffered or os.isatty(1)
        self.buf = bytearray()

    def write(self, text):
        self.buf += text.encode()
        if self.line:
            cut = self.buf.rfind(b'\n') + 1
            if cut:
                self._out(cut)
        while len(self.buf) >= 4096:
            self._out(4096)

    def flush(self):
        if self.buf:
            self._out(len(self.buf))

    def _out(self, n):
        try:
            os.write(1, bytes(self.buf[:n]))
        except BrokenPipeError:
            sys.exit(1)
        del self.buf[:n]


def gpiomon(argv):
    want = {'rising': True, 'falling': True}
    bias = None
    events_wanted = 0
    quiet = False
    fmt = None
    if V == 1:
        opts, args = parse_opts(argv, 'hvlB:n:srfbF:', ['help', 'version', 'active-low', 'bias=', 'num-events=', 'silent',
                                                       'rising-edge', 'falling-edge', 'line-buffered', 'format='])
        line_buffered, rising, falling = False, False, False
        for o, a in opts:
            if o in ('-v', '--version'):
                version_exit()
            elif o in ('-B', '--bias'):
                bias = check_bias_v1(a)
            elif o in ('-n', '--num-events'):
                events_wanted = int(a)
            elif o in ('-s', '--silent'):
                quiet = True
            elif o in ('-r', '--rising-edge'):
                rising = True
            elif o in ('-f', '--falling-edge'):
                falling = True
            elif o in ('-b', '--line-buffered'):
                line_buffered = True
            elif o in ('-F', '--format'):
                fmt = a
        if rising != falling:
            want = {'rising': rising, 'falling': falling}
        if len(args) < 1:
            die('gpiochip must be specified')
        if len(args) < 2:
            die('at least one GPIO line offset must be specified')
        chip = find_chip(args[0])
        if chip is None:
            die_errno('unable to open %s' % args[0], 2)
        offsets = [parse_offset_v1(chip, a) for a in args[1:]]
        out = Stdout(line_buffered)
        busy = 'unable to request GPIO lines for events'
    else:
        opts, args = parse_opts(argv, 'b:c:C:e:E:hF:ln:p:qsv', [
            'active-low', 'banner', 'bias=', 'by-name', 'chip=', 'consumer=', 'debounce-period=', 'edges=',
            'event-clock=', 'format=', 'help', 'idle-timeout=', 'localtime', 'num-events=', 'quiet', 'silent',
            'strict', 'unquoted', 'utc', 'version'])
        chip_id = None
        for o, a in opts:
            if o in ('-v', '--version'):
                version_exit()
            elif o in ('-b', '--bias'):
                bias = check_bias_v2(a)
            elif o in ('-c', '--chip'):
                chip_id = a
            elif o in ('-e', '--edges'):
                if a not in ('rising', 'falling', 'both'):
                    die('invalid edges: %s' % a)
                want = {'rising': a != 'falling', 'falling': a != 'rising'}
            elif o in ('-n', '--num-events'):
                events_wanted = int(a)
            elif o in ('-q', '--quiet', '--silent'):
                quiet = True
            elif o in ('-F', '--format'):
                fmt = a
        if not args:
            die('at least one GPIO line must be specified')
        chip, offsets = resolve_v2(chip_id, args)
        out = Stdout(False)
        busy = 'unable to request lines on chip /dev/%s' % chip['name']
    edges = 'both' if all(want.values()) else ('rising' if want['rising'] else 'falling')
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    got = request(chip, offsets, 'gpiomon', 'input', bias, edges=edges, busy_msg=busy)
    pos = dict(got['pos'])
    done = 0
    while not stopping:
        for o in offsets:
            path = os.path.join(EVENTS, key(chip, o))
            if not os.path.exists(path):
                continue
            with open(path) as f:
                f.seek(pos[o])
                data = f.read()
            end = data.rfind('\n') + 1
            pos[o] += len(data[:end].encode())
            for row in data[:end].splitlines():
                lvl, ns = (int(x) for x in row.split())
                kind = 'rising' if lvl else 'falling'
                if not want[kind]:
                    continue
                if not quiet:
                    out.write(format_event(chip, o, kind, ns, fmt) + '\n')
                done += 1
                if events_wanted and done >= events_wanted:
                    out.flush()
                    release(chip, offsets)
                    return
        if V == 2:
            out.flush()  # v2 calls fflush(stdout) before every ppoll()
        time.sleep(0.005)
    if V == 1:
        out.flush()  # v1's signal handler calls exit(), which flushes stdio
    release(chip, offsets)


def format_event(chip, offset, kind, ns, fmt):
    sec, nsec = divmod(ns, 1_000_000_000)
    if fmt is not None:
        table = {'o': str(offset), '%': '%'}
        if V == 1:
            table.update(e='1' if kind == 'rising' else '0', s=str(sec), n=str(nsec))
        else:
            table.update(e='1' if kind == 'rising' else '2', E=kind, c=chip['name'],
                         l=line_name(chip, offset) or 'unnamed', S='%d.%09d' % (sec, nsec))
        res, i = '', 0
        while i < len(fmt):
            if fmt[i] == '%' and i + 1 < len(fmt):
                res += table.get(fmt[i + 1], fmt[i:i + 2])
                i += 2
            else:
                res += fmt[i]
                i += 1
        return res
    if V == 1:
        return 'event: %s offset: %d timestamp: [%8d.%09d]' % (
            ' RISING EDGE' if kind == 'rising' else 'FALLING EDGE', offset, sec, nsec)
    name = line_name(chip, offset)
    ident = '%s %d "%s"' % (chip['name'], offset, name) if name else '%s %d' % (chip['name'], offset)
    return '%d.%09d\t%s\t%s' % (sec, nsec, kind, ident)


# ---- the outside world ----

def fakegpio(argv):
    """fakegpio drive BCM 0|1 | release BCM | show BCM: a button or signal on a header pin."""
    if len(argv) < 2:
        die('usage: fakegpio drive BCM 0|1 | release BCM | show BCM')
    cmd, bcm = argv[0], int(argv[1])
    chip = main_chip()
    if cmd == 'drive':
        locked(lambda st: change(st, chip, bcm, driven=int(argv[2])))
    elif cmd == 'release':
        locked(lambda st: change(st, chip, bcm, driven=None))
    elif cmd == 'show':
        ln = locked(lambda st: dict(get_line(st, chip, bcm)))
        print(json.dumps(dict(ln, level=level(ln))))
    else:
        die('unknown command %s' % cmd)


TOOLS = {'gpiodetect': gpiodetect, 'gpioinfo': gpioinfo, 'gpioget': gpioget, 'gpioset': gpioset,
         'gpiomon': gpiomon, 'fakegpio': fakegpio}

if __name__ == '__main__':
    if PROG not in TOOLS:
        die('run me through a symlink named after a tool: %s' % ', '.join(TOOLS))
    if PROG != 'fakegpio':
        with open(os.path.join(HERE, 'calls.log'), 'a') as log:
            log.write(json.dumps({'pid': os.getpid(), 'tool': PROG, 'args': sys.argv[1:]}) + '\n')
    TOOLS[PROG](sys.argv[1:])
