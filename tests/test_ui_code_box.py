"""ui.panels.source_of: the code box opens on code, every line of it as in the module."""


def test_the_code_box_cuts_a_docstring_s_reference_sections_and_keeps_its_notes():
    from ui.panels import without_reference_sections

    source = '''def f(x, y=1):
    """Sum of squares.

    f(x, y) = x² + y²

    Parameters
    ----------
    x : float
        The first.

    Notes
    -----
    Kept: a note on the math.

    Returns
    -------
    float
    """
    # f = x² + y²
    return x * x + y * y  # "Returns" in code stays
'''
    cut = without_reference_sections(source)
    assert "Parameters" not in cut and "The first." not in cut and "-------\n    float" not in cut
    assert "Sum of squares." in cut and "f(x, y) = x² + y²" in cut and "Kept: a note on the math." in cut
    assert cut.endswith('    Kept: a note on the math.\n    """\n    # f = x² + y²\n'
                        '    return x * x + y * y  # "Returns" in code stays\n')
    assert without_reference_sections("x = 1\n") == "x = 1\n"
    assert without_reference_sections("def g():\n    return 1\n") == "def g():\n    return 1\n"
