#!/usr/bin/env python3
"""A gRPC gateway in front of an Open Inference Protocol server, for the tests.

  gateway.py --port PORT --upstream HOST:PORT [--token-file FILE] [--delay-ms MS]
             [--delay-all] [--delay-after N] [--max-request-bytes N] [--bad-answers-after N]
             [--pad-answers-bytes N] [--model NAME]

Forwards every call (ModelReady, ModelMetadata, ModelInfer, ...) to the upstream server
as opaque bytes, on 127.0.0.1:PORT, and prints "ready" once listening. With
--token-file, a call without "authorization: Bearer <the file's first line>" is refused
with UNAUTHENTICATED, as an API gateway would. With --delay-ms, each ModelInfer is held
that long before it is forwarded: a slow server, while the calls still overlap; with
--delay-all every call is (ModelReady and ModelMetadata too); with --delay-after N the
first N ModelInfer calls are not held (a server that turns slow after the element
loaded). With --max-request-bytes, a ModelInfer request longer than N bytes is refused
with INVALID_ARGUMENT, as Triton refuses a batch over its max_batch_size. With
--bad-answers-after, the first N ModelInfer answers pass intact and every later one
loses its last score (a malformed answer). With --pad-answers-bytes, every ModelInfer
answer gets an extra output of N zero bytes: an answer larger than a client accepts.
With --model, every ModelReady, ModelMetadata and ModelInfer call names that model
instead: one Triton then serves another model under the element's name. Needs grpcio and
tritonclient (in deps/triton-venv). Never prints the token.
"""
import argparse
import asyncio

import grpc
from tritonclient.grpc import service_pb2 as pb

UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


# The protocol's messages, as compiled in Triton's client (which nvidia-pytriton installs).
REQUESTS = {
    "ModelReady": (pb.ModelReadyRequest, "name"),
    "ModelMetadata": (pb.ModelMetadataRequest, "name"),
    "ModelInfer": (pb.ModelInferRequest, "model_name"),
}


def rename(method, request, model):
    """The request (bytes) of `method` naming `model` instead."""
    message_type, field = REQUESTS[method]
    message = message_type.FromString(request)
    setattr(message, field, model)
    return message.SerializeToString()


def pad(answer, size):
    """ModelInferResponse (bytes) with one more output, `size` bytes of raw zeros."""
    response = pb.ModelInferResponse.FromString(answer)
    extra = response.outputs.add()
    extra.name = "padding"
    extra.datatype = "UINT8"
    extra.shape.append(size)
    response.raw_output_contents.append(bytes(size))
    return response.SerializeToString()


def drop_last_score(answer):
    """ModelInferResponse (bytes) with 4 bytes fewer in each raw_output_contents."""
    response = pb.ModelInferResponse.FromString(answer)
    for i, raw in enumerate(response.raw_output_contents):
        if len(raw) >= 4:
            response.raw_output_contents[i] = raw[:-4]
    return response.SerializeToString()


class Forward(grpc.GenericRpcHandler):
    def __init__(self, channel, token, args):
        self.delay_all = args.delay_all
        self.delay_after = args.delay_after
        self.pad_bytes = args.pad_answers_bytes
        self.inferred = 0
        self.model = args.model
        self.channel = channel
        self.token = token
        self.delay = args.delay_ms / 1000
        self.max_request_bytes = args.max_request_bytes
        self.bad_after = args.bad_answers_after
        self.answered = 0

    def service(self, details):
        method = details.method
        upstream = self.channel.unary_unary(method)

        async def handle(request, context):
            if self.token is not None:
                given = dict(context.invocation_metadata()).get("authorization")
                if given != f"Bearer {self.token}":
                    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid bearer token")
            name = method.rsplit("/", 1)[-1]
            infer = name == "ModelInfer"
            if self.model and name in REQUESTS:
                request = rename(name, request, self.model)
            if infer and self.max_request_bytes and len(request) > self.max_request_bytes:
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"request of {len(request)} bytes: batch-size must be <= the model's",
                )
            if infer:
                self.inferred += 1
                held = self.inferred > self.delay_after
            else:
                held = self.delay_all
            if self.delay and held:
                # The tests read this to know a request is being held.
                print(f"holding {name} for {self.delay} s", flush=True)
                await asyncio.sleep(self.delay)
            try:
                answer = await upstream(request, timeout=context.time_remaining())
            except grpc.aio.AioRpcError as e:
                await context.abort(e.code(), e.details() or "")
            if infer and self.bad_after is not None:
                self.answered += 1
                if self.answered > self.bad_after:
                    return drop_last_score(answer)
            if infer and self.pad_bytes:
                return pad(answer, self.pad_bytes)
            return answer

        return grpc.unary_unary_rpc_method_handler(handle)


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--token-file")
    p.add_argument("--delay-ms", type=float, default=0)
    p.add_argument("--delay-all", action="store_true")
    p.add_argument("--delay-after", type=int, default=0)
    p.add_argument("--pad-answers-bytes", type=int, default=0)
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
    forward = Forward(channel, token, args)
    server.add_generic_rpc_handlers([forward])
    server.add_insecure_port(f"127.0.0.1:{args.port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main())
