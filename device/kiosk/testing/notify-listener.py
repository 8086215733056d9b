# A stand-in for systemd's notification socket: an AF_UNIX datagram socket with SO_PASSCRED that
# prints each datagram as a JSON line with the sender's PID and whether that process was still
# alive (not gone, not a zombie) when the datagram was read: systemd must read /proc/PID/cgroup
# to know the sender's unit, so a sender that has exited is ignored. Passed file descriptors
# (BARRIER=1) are closed after the datagram is read, as systemd does. Mode 'gated': before reading
# each datagram, print {"arrived": ...} and wait for a line on stdin (a service manager that is busy).
import array, json, os, socket, struct, sys

path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
os.chmod(path, 0o777)
print(json.dumps({"listening": path}), flush=True)

def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except OSError:
        return False

while True:
    data, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(4 * 16) + socket.CMSG_SPACE(12))
    if mode == 'gated':
        print(json.dumps({"arrived": data.decode()}), flush=True)
        if sys.stdin.readline() == '':
            break
    pid, fds = None, []
    for level, kind, d in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack('iII', d[:12])[0]
        elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(array.array('i', d[:len(d) - len(d) % 4]))
    print(json.dumps({"state": data.decode(), "pid": pid, "alive": pid is not None and alive(pid), "fds": len(fds)}), flush=True)
    for fd in fds:
        os.close(fd)
