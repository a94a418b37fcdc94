"""The verbs of the product. The pages and the API call the same functions."""


class ServiceError(Exception):
    """Input a service refuses, with a message per field for forms and the API.

    `fields` maps a field name to its message; `message` says what went wrong as a
    whole.
    """

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class Unavailable(Exception):
    """A part the action needs (Redis) does not answer; nothing was changed.

    Not a refusal of the input: the same action may work once the part is back.
    Pages answer it with 503 Service Unavailable and its message.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
