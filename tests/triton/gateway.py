#!/usr/bin/env python3
"""A gRPC gateway in front of an Open Inference Protocol server, for the tests.

  gateway.py --port PORT --upstream HOST:PORT [--token-file FILE] [--delay-ms MS]

Forwards every call (ModelReady, ModelMetadata, ModelInfer, ...) to the upstream server
as opaque bytes, on 127.0.0.1:PORT, and prints "ready" once listening. With --token-file,
a call without "authorization: Bearer <the file's first line>" is refused with
UNAUTHENTICATED, as an API gateway would. With --delay-ms, each ModelInfer is held that
long before it is forwarded: a slow server, while the calls still overlap. Needs grpcio
(in deps/triton-venv). Never prints the token.
"""
import argparse
import asyncio

import grpc

UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


class Forward(grpc.GenericRpcHandler):
    def __init__(self, channel, token, delay):
        self.channel = channel
        self.token = token
        self.delay = delay

    def service(self, details):
        method = details.method
        upstream = self.channel.unary_unary(method)

        async def handle(request, context):
            if self.token is not None:
                given = dict(context.invocation_metadata()).get("authorization")
                if given != f"Bearer {self.token}":
                    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid bearer token")
            if self.delay and method.endswith("/ModelInfer"):
                await asyncio.sleep(self.delay)
            try:
                return await upstream(request, timeout=context.time_remaining())
            except grpc.aio.AioRpcError as e:
                await context.abort(e.code(), e.details() or "")

        return grpc.unary_unary_rpc_method_handler(handle)


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--token-file")
    p.add_argument("--delay-ms", type=float, default=0)
    args = p.parse_args()
    token = None
    if args.token_file:
        with open(args.token_file) as f:
            token = f.readline().strip()
    channel = grpc.aio.insecure_channel(args.upstream, options=UNLIMITED)
    server = grpc.aio.server(options=UNLIMITED)
    server.add_generic_rpc_handlers([Forward(channel, token, args.delay_ms / 1000)])
    server.add_insecure_port(f"127.0.0.1:{args.port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main())
