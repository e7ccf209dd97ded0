"""The bus port and its in-process adapter."""

from phonghop.bus.base import Bus, Handler, Unsubscribe
from phonghop.bus.local import LocalBus
from phonghop.bus.redis import RedisBus

__all__ = ["Bus", "Handler", "LocalBus", "RedisBus", "Unsubscribe"]
