"""The bus port and its in-process adapter."""

from bus.base import Bus, Handler, Unsubscribe
from bus.local import LocalBus
from bus.redis import RedisBus

__all__ = ["Bus", "Handler", "LocalBus", "RedisBus", "Unsubscribe"]
