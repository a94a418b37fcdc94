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
