"""How many messages wait in a queue, read from the broker on one connection kept for the reader's
life (a resync asks before each batch)."""

import pika

from pubsub.broker import CONNECTION_ERRORS, BrokerUnavailable, close_quietly, connect


class QueueDepth:
    def __init__(self):
        self._connection = None

    def ready(self, queue: str) -> int:
        """Messages ready in `queue`: 0 for a queue not declared yet (nothing waits in it)."""
        try:
            if self._connection is None or not self._connection.is_open:
                self._connection = connect()
            channel = self._connection.channel()
            try:
                count = channel.queue_declare(queue, passive=True).method.message_count
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code == 404:
                    return 0
                raise
            channel.close()
            return count
        except CONNECTION_ERRORS as exc:
            self.close()
            raise BrokerUnavailable(f"cannot read the depth of {queue}: {exc!r}") from exc

    def close(self) -> None:
        close_quietly(self._connection)
        self._connection = None
