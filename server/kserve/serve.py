#!/usr/bin/env python3
"""KServe's model server in front of Ray Serve replicas: an ONNX classifier served over
the Open Inference Protocol (gRPC and REST), the inferences spread over a Ray cluster.

  serve.py --model deps/models/mobilenet.onnx [--name mobilenet] [--replicas 2]
           [--grpc-port 8081] [--http-port 8080] [--address auto]
           [--max-replicas-per-node N] [--temp-dir DIR]

Ray Serve alone does not speak the protocol: KServe's ModelServer takes the requests
(ModelReady, ModelMetadata, ModelInfer) and hands the input tensor, as a numpy array, to
a Ray Serve deployment of --replicas replicas, each running the model with onnxruntime
on CPU. Ray places the replicas on any node of the cluster; --max-replicas-per-node 1
makes it put them on different nodes. The model travels to them through Ray's object
store, so the other nodes need no copy of the file.

Each answered inference logs one line naming the replica and the node that ran it, the
batch size, and how many batches that replica has answered so far:

  calls: replica=<id> node=<node IP> batch=<frames> count=<n>

One node: run this script (it starts a Ray of its own, in --temp-dir if given, that ends
with it). Several: `ray start --head` on the first, `ray start --address=HEAD:6379` on
each other, then this script on the first with --address auto (docs/remote-inference.md;
server/kserve/two-nodes.sh tries it with a network namespace as the second node).
KServe's ModelServer listens on all interfaces. Pinned versions:
server/kserve/requirements.txt.
"""
import argparse
import collections
import logging

import numpy as np
import onnxruntime
import ray
from ray import serve

import kserve
from kserve.protocol.infer_type import InferOutput, InferResponse

log = logging.getLogger("serve")


def dims(shape):
    """An ONNX shape with named or unknown dimensions as -1."""
    return [d if isinstance(d, int) and d > 0 else -1 for d in shape]


@serve.deployment
class Replica:
    def __init__(self, model_bytes):
        self.session = onnxruntime.InferenceSession(
            model_bytes, providers=["CPUExecutionProvider"]
        )
        self.input = self.session.get_inputs()[0].name
        # Who answers, for the calls line: the replica's id and its node's address.
        self.who = (
            serve.get_replica_context().replica_id.unique_id,
            ray.util.get_node_ip_address(),
        )

    def __call__(self, batch):
        return self.session.run(None, {self.input: batch})[0], self.who


class Frontend(kserve.Model):
    """The protocol's side: metadata from the ONNX file, inference on the replicas. Only
    numpy arrays go to Ray (it cannot pickle the request's protobuf containers)."""

    def __init__(self, name, handle, session):
        super().__init__(name)
        self.handle = handle
        inp, out = session.get_inputs()[0], session.get_outputs()[0]
        types = {"tensor(float)": "FP32", "tensor(float16)": "FP16", "tensor(uint8)": "UINT8"}
        self.inputs = [{"name": inp.name, "datatype": types[inp.type], "shape": dims(inp.shape)}]
        self.outputs = [{"name": out.name, "datatype": "FP32", "shape": dims(out.shape)}]
        self.dtype = {"FP32": np.float32, "FP16": np.float16, "UINT8": np.uint8}[
            types[inp.type]
        ]
        self.calls = collections.Counter()
        self.ready = True

    def get_input_types(self):
        return self.inputs

    def get_output_types(self):
        return self.outputs

    async def predict(self, payload, headers=None, response_headers=None):
        batch = np.ascontiguousarray(payload.inputs[0].as_numpy(), dtype=self.dtype)
        scores, who = await self.handle.remote(batch)
        scores = np.asarray(scores, dtype=np.float32)
        self.calls[who] += 1
        log.info("calls: replica=%s node=%s batch=%d count=%d", *who, len(batch), self.calls[who])
        out = InferOutput(name=self.outputs[0]["name"], shape=list(scores.shape), datatype="FP32")
        out.set_data_from_numpy(scores, binary_data=True)
        return InferResponse(
            model_name=self.name, infer_outputs=[out], response_id=payload.id or "0"
        )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="the ONNX file")
    p.add_argument("--name", default="mobilenet", help="the model's name on the server")
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--grpc-port", type=int, default=8081)
    p.add_argument("--http-port", type=int, default=8080)
    p.add_argument("--address", default=None, help="a Ray cluster to join (auto: this node's)")
    p.add_argument(
        "--max-replicas-per-node",
        type=int,
        default=None,
        help="at most this many replicas on one node (1: each on a node of its own)",
    )
    p.add_argument(
        "--temp-dir",
        default=None,
        help="the folder of the Ray this script starts (absolute; not with --address)",
    )
    args = p.parse_args()
    if args.address and args.temp_dir:
        p.error("--temp-dir: a cluster's folder is the one its `ray start --temp-dir` chose")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with open(args.model, "rb") as f:
        model_bytes = f.read()
    if args.address:
        ray.init(address=args.address)
    else:
        # A Ray of its own for this process (not one a `ray start` left behind), without
        # the dashboard's web server.
        ray.init(address="local", include_dashboard=False, _temp_dir=args.temp_dir)
    # KServe takes the traffic: Ray Serve's own HTTP proxy is not needed.
    serve.start(proxy_location="Disabled")
    placement = {}
    if args.max_replicas_per_node:
        placement["max_replicas_per_node"] = args.max_replicas_per_node
    handle = serve.run(
        Replica.options(num_replicas=args.replicas, **placement).bind(model_bytes),
        name=args.name,
        route_prefix=None,
    )
    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    server = kserve.ModelServer(grpc_port=args.grpc_port, http_port=args.http_port)
    server.start([Frontend(args.name, handle, session)])


if __name__ == "__main__":
    main()
