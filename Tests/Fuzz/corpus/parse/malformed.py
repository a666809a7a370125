def g(
    return )]
