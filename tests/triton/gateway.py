#!/usr/bin/env python3
"""A gRPC gateway in front of an Open Inference Protocol server, for the tests.

  gateway.py --port PORT --upstream HOST:PORT [--token-file FILE] [--delay-ms MS]
             [--delay-all] [--max-request-bytes N] [--bad-answers-after N] [--model NAME]

Forwards every call (ModelReady, ModelMetadata, ModelInfer, ...) to the upstream server
as opaque bytes, on 127.0.0.1:PORT, and prints "ready" once listening. With --token-file,
a call without "authorization: Bearer <the file's first line>" is refused with
UNAUTHENTICATED, as an API gateway would. With --delay-ms, each ModelInfer is held that
long before it is forwarded: a slow server, while the calls still overlap; with
--delay-all every call is (ModelReady and ModelMetadata too). With
--max-request-bytes, a ModelInfer request longer than N bytes is refused with
INVALID_ARGUMENT, as Triton refuses a batch over its max_batch_size. With
--bad-answers-after, the first N ModelInfer answers pass intact and every later one loses
its last score (a malformed answer). With --model, every call names that model instead
(field 1 of ModelReady, ModelMetadata and ModelInfer requests): one Triton then serves
another model under the element's name. Needs grpcio (in deps/triton-venv). Never prints the
token.
"""
import argparse
import asyncio

import grpc

UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


def varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def encode_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def fields(message):
    """(field number, wire type, bytes of the whole field) of each top-level field."""
    at = 0
    while at < len(message):
        start = at
        key, at = varint(message, at)
        kind = key & 7
        if kind == 0:
            _, at = varint(message, at)
        elif kind == 1:
            at += 8
        elif kind == 5:
            at += 4
        elif kind == 2:
            size, at = varint(message, at)
            at += size
        else:
            raise ValueError(f"wire type {kind}")
        yield key >> 3, kind, message[start:at]


def rename(request, model):
    """The request with its field 1 (the model's name) set to `model`."""
    name = model.encode()
    out = bytearray(encode_varint(1 << 3 | 2) + encode_varint(len(name)) + name)
    for number, kind, raw in fields(request):
        if not (number == 1 and kind == 2):
            out += raw
    return bytes(out)


def drop_last_score(answer):
    """ModelInferResponse with 4 bytes fewer in each raw_output_contents (field 6)."""
    out = bytearray()
    for number, kind, raw in fields(answer):
        if number == 6 and kind == 2:
            _, at = varint(raw, 0)  # past the key
            size, body = varint(raw, at)
            if size >= 4:
                out += encode_varint(6 << 3 | 2) + encode_varint(size - 4) + raw[body:-4]
                continue
        out += raw
    return bytes(out)


class Forward(grpc.GenericRpcHandler):
    def __init__(self, channel, token, delay, delay_all, max_request_bytes, bad_after, model):
        self.delay_all = delay_all
        self.model = model
        self.channel = channel
        self.token = token
        self.delay = delay
        self.max_request_bytes = max_request_bytes
        self.bad_after = bad_after
        self.answered = 0

    def service(self, details):
        method = details.method
        upstream = self.channel.unary_unary(method)

        async def handle(request, context):
            if self.token is not None:
                given = dict(context.invocation_metadata()).get("authorization")
                if given != f"Bearer {self.token}":
                    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid bearer token")
            infer = method.endswith("/ModelInfer")
            if self.model and method.rsplit("/", 1)[-1] in (
                "ModelReady",
                "ModelMetadata",
                "ModelInfer",
            ):
                request = rename(request, self.model)
            if infer and self.max_request_bytes and len(request) > self.max_request_bytes:
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"request of {len(request)} bytes: batch-size must be <= the model's",
                )
            if self.delay and (infer or self.delay_all):
                await asyncio.sleep(self.delay)
            try:
                answer = await upstream(request, timeout=context.time_remaining())
            except grpc.aio.AioRpcError as e:
                await context.abort(e.code(), e.details() or "")
            if infer and self.bad_after is not None:
                self.answered += 1
                if self.answered > self.bad_after:
                    return drop_last_score(answer)
            return answer

        return grpc.unary_unary_rpc_method_handler(handle)


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--token-file")
    p.add_argument("--delay-ms", type=float, default=0)
    p.add_argument("--delay-all", action="store_true")
    p.add_argument("--max-request-bytes", type=int, default=0)
    p.add_argument("--bad-answers-after", type=int)
    p.add_argument("--model")
    args = p.parse_args()
    token = None
    if args.token_file:
        with open(args.token_file) as f:
            token = f.readline().strip()
    channel = grpc.aio.insecure_channel(args.upstream, options=UNLIMITED)
    server = grpc.aio.server(options=UNLIMITED)
    forward = Forward(
        channel,
        token,
        args.delay_ms / 1000,
        args.delay_all,
        args.max_request_bytes,
        args.bad_answers_after,
        args.model,
    )
    server.add_generic_rpc_handlers([forward])
    server.add_insecure_port(f"127.0.0.1:{args.port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main())
