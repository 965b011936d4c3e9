"""A small LSP client over a subprocess's stdio (stdlib only): Content-Length framing, requests
matched to responses by id, notifications kept for waiting on, and answers to the requests a
server may send a client (as Helix answers them)."""

import json
import subprocess
import threading
import time


class RpcError(Exception):
    def __init__(self, error):
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = error.get("code")
        self.message = error.get("message", "")
        self.data = error.get("data")


class LspProcess:
    def __init__(self, argv, env, cwd=None, settings=None):
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, cwd=cwd,
        )
        # Helix answers workspace/configuration from the server's `config`.
        self.settings = settings
        self.next_id = 1
        self.responses = {}
        self.notifications = []
        self.server_requests = []
        self.cond = threading.Condition()
        self.stderr_lines = []
        self.closed = False
        self.write_lock = threading.Lock()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # --- wire ---------------------------------------------------------------------------------
    def _send(self, message):
        body = json.dumps(message).encode()
        with self.write_lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def _read_message(self):
        length = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return None
            line = line.strip()
            if not line:
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length is None:
            raise ValueError("message without Content-Length")
        return json.loads(self.proc.stdout.read(length))

    def _read_stdout(self):
        try:
            while True:
                message = self._read_message()
                if message is None:
                    break
                self._dispatch(message)
        finally:
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line.decode(errors="replace").rstrip())

    def _dispatch(self, message):
        if "method" in message and "id" in message:
            self._answer_server_request(message)
            with self.cond:
                self.server_requests.append(message)
                self.cond.notify_all()
        elif "method" in message:
            with self.cond:
                self.notifications.append(message)
                self.cond.notify_all()
        else:
            with self.cond:
                self.responses[message.get("id")] = message
                self.cond.notify_all()

    def _answer_server_request(self, message):
        method, params = message["method"], message.get("params") or {}
        result = None
        if method == "workspace/configuration":
            result = [self._setting(item.get("section")) for item in params.get("items", [])]
        elif method == "window/showDocument":
            result = {"success": True}
        elif method == "workspace/workspaceFolders":
            result = []
        self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def _setting(self, section):
        if self.settings is None:
            return None
        if not section:
            return self.settings
        value = self.settings
        for part in section.split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value

    # --- API ----------------------------------------------------------------------------------
    def notify(self, method, params):
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request_async(self, method, params):
        request_id = self.next_id
        self.next_id += 1
        self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return request_id

    def response(self, request_id, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while request_id not in self.responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise TimeoutError(f"no response to request {request_id}" + self._tail())
                self.cond.wait(left)
            message = self.responses.pop(request_id)
        if "error" in message and message["error"] is not None:
            raise RpcError(message["error"])
        return message.get("result")

    def request(self, method, params, timeout=10.0):
        return self.response(self.request_async(method, params), timeout)

    def wait_notification(self, predicate, timeout=10.0, what="a notification"):
        """The first notification (old or new) for which predicate(message) is true."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for message in self.notifications:
                    if predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise TimeoutError(f"timed out waiting for {what}" + self._tail())
                self.cond.wait(left)

    def _tail(self):
        tail = "\n".join(self.stderr_lines[-15:])
        return f"\n--- server stderr (last lines) ---\n{tail}" if tail else ""

    def shutdown(self, timeout=5.0):
        """shutdown + exit, then the pipe closed (Helix kills the process after `exit`; Neovim
        and VS Code close its stdin). Returns the exit code, or None if it had to be killed."""
        try:
            if not self.closed:
                self.request("shutdown", None, timeout)
                self.notify("exit", None)
            self.proc.stdin.close()
            return self.proc.wait(timeout)
        except (TimeoutError, RpcError, OSError, subprocess.TimeoutExpired, ValueError):
            self.proc.kill()
            self.proc.wait()
            return None
