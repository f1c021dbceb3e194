class HwgenError(Exception):
    """A problem with the user's input that the CLI reports as one line.

    The message says what is wrong and, where it can, what to do about it.
    """
