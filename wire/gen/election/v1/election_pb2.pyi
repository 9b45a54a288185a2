from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Encoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENCODING_UNSPECIFIED: _ClassVar[Encoding]
    PACKED_TERNARY: _ClassVar[Encoding]
    INT16_LE: _ClassVar[Encoding]
    FLOAT32_LE: _ClassVar[Encoding]

class ZeroKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ZERO_NONE: _ClassVar[ZeroKind]
    ZERO_MASK: _ClassVar[ZeroKind]
    ZERO_INDICES: _ClassVar[ZeroKind]

class DType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DTYPE_UNSPECIFIED: _ClassVar[DType]
    DTYPE_FLOAT32_LE: _ClassVar[DType]
ENCODING_UNSPECIFIED: Encoding
PACKED_TERNARY: Encoding
INT16_LE: Encoding
FLOAT32_LE: Encoding
ZERO_NONE: ZeroKind
ZERO_MASK: ZeroKind
ZERO_INDICES: ZeroKind
DTYPE_UNSPECIFIED: DType
DTYPE_FLOAT32_LE: DType

class PayloadHeader(_message.Message):
    __slots__ = ("encoding", "length", "zero_kind", "sign_nbytes", "zero_nbytes", "total_nbytes")
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    ZERO_KIND_FIELD_NUMBER: _ClassVar[int]
    SIGN_NBYTES_FIELD_NUMBER: _ClassVar[int]
    ZERO_NBYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_NBYTES_FIELD_NUMBER: _ClassVar[int]
    encoding: Encoding
    length: int
    zero_kind: ZeroKind
    sign_nbytes: int
    zero_nbytes: int
    total_nbytes: int
    def __init__(self, encoding: _Optional[_Union[Encoding, str]] = ..., length: _Optional[int] = ..., zero_kind: _Optional[_Union[ZeroKind, str]] = ..., sign_nbytes: _Optional[int] = ..., zero_nbytes: _Optional[int] = ..., total_nbytes: _Optional[int] = ...) -> None: ...

class JoinRequest(_message.Message):
    __slots__ = ("slot", "worker_name", "join_secret")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    WORKER_NAME_FIELD_NUMBER: _ClassVar[int]
    JOIN_SECRET_FIELD_NUMBER: _ClassVar[int]
    slot: int
    worker_name: str
    join_secret: str
    def __init__(self, slot: _Optional[int] = ..., worker_name: _Optional[str] = ..., join_secret: _Optional[str] = ...) -> None: ...

class JoinResponse(_message.Message):
    __slots__ = ("run_id", "slot", "partitions", "config_json", "token", "round", "total_rounds", "dim")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROUNDS_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    slot: int
    partitions: _containers.RepeatedScalarFieldContainer[int]
    config_json: str
    token: str
    round: int
    total_rounds: int
    dim: int
    def __init__(self, run_id: _Optional[str] = ..., slot: _Optional[int] = ..., partitions: _Optional[_Iterable[int]] = ..., config_json: _Optional[str] = ..., token: _Optional[str] = ..., round: _Optional[int] = ..., total_rounds: _Optional[int] = ..., dim: _Optional[int] = ...) -> None: ...

class VoteHeader(_message.Message):
    __slots__ = ("run_id", "round", "slot", "token", "payload", "partition_losses")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PARTITION_LOSSES_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    round: int
    slot: int
    token: str
    payload: PayloadHeader
    partition_losses: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, run_id: _Optional[str] = ..., round: _Optional[int] = ..., slot: _Optional[int] = ..., token: _Optional[str] = ..., payload: _Optional[_Union[PayloadHeader, _Mapping]] = ..., partition_losses: _Optional[_Iterable[float]] = ...) -> None: ...

class VoteChunk(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: VoteHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[VoteHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class VoteAck(_message.Message):
    __slots__ = ("round", "accepted_votes")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_VOTES_FIELD_NUMBER: _ClassVar[int]
    round: int
    accepted_votes: int
    def __init__(self, round: _Optional[int] = ..., accepted_votes: _Optional[int] = ...) -> None: ...

class UpdateRequest(_message.Message):
    __slots__ = ("run_id", "round", "slot", "token")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    round: int
    slot: int
    token: str
    def __init__(self, run_id: _Optional[str] = ..., round: _Optional[int] = ..., slot: _Optional[int] = ..., token: _Optional[str] = ...) -> None: ...

class UpdateHeader(_message.Message):
    __slots__ = ("round", "digest", "payload", "votes", "abstentions")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    ABSTENTIONS_FIELD_NUMBER: _ClassVar[int]
    round: int
    digest: str
    payload: PayloadHeader
    votes: int
    abstentions: int
    def __init__(self, round: _Optional[int] = ..., digest: _Optional[str] = ..., payload: _Optional[_Union[PayloadHeader, _Mapping]] = ..., votes: _Optional[int] = ..., abstentions: _Optional[int] = ...) -> None: ...

class UpdateChunk(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: UpdateHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[UpdateHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class SnapshotRequest(_message.Message):
    __slots__ = ("run_id", "slot", "token")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    slot: int
    token: str
    def __init__(self, run_id: _Optional[str] = ..., slot: _Optional[int] = ..., token: _Optional[str] = ...) -> None: ...

class TensorInfo(_message.Message):
    __slots__ = ("name", "dtype", "shape", "offset", "nbytes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    NBYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    dtype: DType
    shape: _containers.RepeatedScalarFieldContainer[int]
    offset: int
    nbytes: int
    def __init__(self, name: _Optional[str] = ..., dtype: _Optional[_Union[DType, str]] = ..., shape: _Optional[_Iterable[int]] = ..., offset: _Optional[int] = ..., nbytes: _Optional[int] = ...) -> None: ...

class SnapshotHeader(_message.Message):
    __slots__ = ("round", "digest", "total_nbytes", "tensors")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    TOTAL_NBYTES_FIELD_NUMBER: _ClassVar[int]
    TENSORS_FIELD_NUMBER: _ClassVar[int]
    round: int
    digest: str
    total_nbytes: int
    tensors: _containers.RepeatedCompositeFieldContainer[TensorInfo]
    def __init__(self, round: _Optional[int] = ..., digest: _Optional[str] = ..., total_nbytes: _Optional[int] = ..., tensors: _Optional[_Iterable[_Union[TensorInfo, _Mapping]]] = ...) -> None: ...

class SnapshotChunk(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: SnapshotHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[SnapshotHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("run_id", "round", "total_rounds", "finished", "n_slots", "joined_slots", "config_json", "dim", "digest", "master_shards", "shard")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROUNDS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    N_SLOTS_FIELD_NUMBER: _ClassVar[int]
    JOINED_SLOTS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    MASTER_SHARDS_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    round: int
    total_rounds: int
    finished: bool
    n_slots: int
    joined_slots: int
    config_json: str
    dim: int
    digest: str
    master_shards: int
    shard: int
    def __init__(self, run_id: _Optional[str] = ..., round: _Optional[int] = ..., total_rounds: _Optional[int] = ..., finished: _Optional[bool] = ..., n_slots: _Optional[int] = ..., joined_slots: _Optional[int] = ..., config_json: _Optional[str] = ..., dim: _Optional[int] = ..., digest: _Optional[str] = ..., master_shards: _Optional[int] = ..., shard: _Optional[int] = ...) -> None: ...
