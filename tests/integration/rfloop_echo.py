"""rfloop_echo.py - the real server and its client for 91-escape-rfloop.sh
(and the listening socket rfloop_pool.py's server uses).

    python3 rfloop_echo.py serve PORT    answer "REAL:<what came>" to every client
    python3 rfloop_echo.py ask PORT      print the answer to "hi" (exit 1 if none)
"""
import socket
import sys


def listener(port):
    """A listening socket on 127.0.0.1:port, said on stdout ("listening")."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    print("listening", flush=True)
    return s


def serve(port):
    s = listener(port)
    while True:
        c, _ = s.accept()
        c.sendall(b"REAL:" + c.recv(100))
        c.close()


def ask(port):
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"hi")
    print(c.recv(100).decode())


if __name__ == "__main__":
    {"serve": serve, "ask": ask}[sys.argv[1]](int(sys.argv[2]))
