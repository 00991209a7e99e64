"""Local gradients derived by SymPy ahead of time (written by tools/derivative_table.py;
do not edit): (op, constant arguments, argument, shared positions) -> plan, as
derivative_plans.py describes."""

DERIVATIVES: dict[tuple, tuple] = {
    ("abs", (None,), 0, (0,)): ("product", (("var", "g"), ("op", "sign", (("var", "a0"),))), ()),
    ("add", (None, None), 0, (0, 1)): ("var", "g"),
    ("add", (None, None), 1, (0, 1)): ("var", "g"),
    ("add", (None, None), 0, (0, 0)): ("product", (("var", "g"), ("const", 2)), ()),
    ("add", (None, 0), 0, (0, 1)): ("var", "g"),
    ("add", (0, None), 1, (0, 1)): ("var", "g"),
    ("add", (None, 1), 0, (0, 1)): ("var", "g"),
    ("add", (1, None), 1, (0, 1)): ("var", "g"),
    ("add", (None, 2), 0, (0, 1)): ("var", "g"),
    ("add", (2, None), 1, (0, 1)): ("var", "g"),
    ("add", (None, -1), 0, (0, 1)): ("var", "g"),
    ("add", (-1, None), 1, (0, 1)): ("var", "g"),
    ("arccos", (None,), 0, (0,)): (
        "neg",
        (
            "product",
            (("var", "g"),),
            (
                (
                    "op",
                    "sqrt",
                    (("sum", (("const", 1),), (("op", "pow", (("var", "a0"), ("const", 2))),)),),
                ),
            ),
        ),
    ),
    ("arccosh", (None,), 0, (0,)): (
        "product",
        (("var", "g"),),
        (
            ("op", "sqrt", (("sum", (("const", 1), ("var", "a0")), ()),)),
            ("op", "sqrt", (("sum", (("var", "a0"),), (("const", 1),)),)),
        ),
    ),
    ("arcsin", (None,), 0, (0,)): (
        "product",
        (("var", "g"),),
        (
            (
                "op",
                "sqrt",
                (("sum", (("const", 1),), (("op", "pow", (("var", "a0"), ("const", 2))),)),),
            ),
        ),
    ),
    ("arcsinh", (None,), 0, (0,)): (
        "product",
        (("var", "g"),),
        (
            (
                "op",
                "sqrt",
                (("sum", (("const", 1), ("op", "pow", (("var", "a0"), ("const", 2)))), ()),),
            ),
        ),
    ),
    ("arctan", (None,), 0, (0,)): (
        "product",
        (("var", "g"),),
        (("sum", (("const", 1), ("op", "pow", (("var", "a0"), ("const", 2)))), ()),),
    ),
    ("arctan2", (None, None), 0, (0, 1)): (
        "product",
        (("var", "g"), ("var", "a1")),
        (
            (
                "sum",
                (
                    ("op", "pow", (("var", "a0"), ("const", 2))),
                    ("op", "pow", (("var", "a1"), ("const", 2))),
                ),
                (),
            ),
        ),
    ),
    ("arctan2", (None, None), 1, (0, 1)): (
        "neg",
        (
            "product",
            (("var", "g"), ("var", "a0")),
            (
                (
                    "sum",
                    (
                        ("op", "pow", (("var", "a0"), ("const", 2))),
                        ("op", "pow", (("var", "a1"), ("const", 2))),
                    ),
                    (),
                ),
            ),
        ),
    ),
    ("arctan2", (None, None), 0, (0, 0)): ("const", 0),
    ("arctan2", (None, 0), 0, (0, 1)): ("const", 0),
    ("arctan2", (0, None), 1, (0, 1)): ("const", 0),
    ("arctan2", (None, 1), 0, (0, 1)): (
        "product",
        (("var", "g"),),
        (("sum", (("const", 1), ("op", "pow", (("var", "a0"), ("const", 2)))), ()),),
    ),
    ("arctan2", (1, None), 1, (0, 1)): (
        "neg",
        (
            "product",
            (("var", "g"),),
            (("sum", (("const", 1), ("op", "pow", (("var", "a1"), ("const", 2)))), ()),),
        ),
    ),
    ("arctan2", (None, 2), 0, (0, 1)): (
        "product",
        (("var", "g"),),
        (
            ("const", 2),
            (
                "sum",
                (
                    ("const", 1),
                    ("product", (("op", "pow", (("var", "a0"), ("const", 2))),), (("const", 4),)),
                ),
                (),
            ),
        ),
    ),
    ("arctan2", (2, None), 1, (0, 1)): (
        "neg",
        (
            "product",
            (("var", "g"), ("const", 2)),
            (("sum", (("const", 4), ("op", "pow", (("var", "a1"), ("const", 2)))), ()),),
        ),
    ),
    ("arctan2", (None, -1), 0, (0, 1)): (
        "neg",
        (
            "product",
            (("var", "g"),),
            (("sum", (("const", 1), ("op", "pow", (("var", "a0"), ("const", 2)))), ()),),
        ),
    ),
    ("arctan2", (-1, None), 1, (0, 1)): (
        "product",
        (("var", "g"),),
        (("sum", (("const", 1), ("op", "pow", (("var", "a1"), ("const", 2)))), ()),),
    ),
    ("arctanh", (None,), 0, (0,)): (
        "product",
        (("var", "g"),),
        (("sum", (("const", 1),), (("op", "pow", (("var", "a0"), ("const", 2))),)),),
    ),
    ("ceil", (None,), 0, (0,)): ("const", 0),
    ("clip", (None, None, None), 0, (0, 1, 2)): (
        "product",
        (
            ("var", "g"),
            ("op", "step", (("sum", (("var", "a0"),), (("var", "a1"),)),)),
            (
                "op",
                "step",
                (("sum", (("var", "a2"),), (("op", "maximum", (("var", "a0"), ("var", "a1"))),)),),
            ),
        ),
        (),
    ),
    ("clip", (None, None, None), 1, (0, 1, 2)): (
        "product",
        (
            ("var", "g"),
            ("op", "step", (("sum", (("var", "a1"),), (("var", "a0"),)),)),
            (
                "op",
                "step",
                (("sum", (("var", "a2"),), (("op", "maximum", (("var", "a0"), ("var", "a1"))),)),),
            ),
        ),
        (),
    ),
    ("clip", (None, None, None), 2, (0, 1, 2)): (
        "product",
        (
            ("var", "g"),
            (
                "op",
                "step",
                (("sum", (("op", "maximum", (("var", "a0"), ("var", "a1"))),), (("var", "a2"),)),),
            ),
        ),
        (),
    ),
    ("cos", (None,), 0, (0,)): (
        "neg",
        ("product", (("var", "g"), ("op", "sin", (("var", "a0"),))), ()),
    ),
    ("cosh", (None,), 0, (0,)): ("product", (("var", "g"), ("op", "sinh", (("var", "a0"),))), ()),
    ("deg2rad", (None,), 0, (0,)): (
        "product",
        (("var", "g"), ("const", 3.141592653589793)),
        (("const", 180),),
    ),
    ("div", (None, None), 0, (0, 1)): ("product", (("var", "g"),), (("var", "a1"),)),
    ("div", (None, None), 1, (0, 1)): (
        "neg",
        ("product", (("var", "g"), ("var", "out")), (("var", "a1"),)),
    ),
    ("div", (None, None), 0, (0, 0)): ("const", 0),
    ("div", (0, None), 1, (0, 1)): ("const", 0),
    ("div", (None, 1), 0, (0, 1)): ("var", "g"),
    ("div", (1, None), 1, (0, 1)): (
        "neg",
        ("product", (("var", "g"),), (("op", "pow", (("var", "a1"), ("const", 2))),)),
    ),
    ("div", (None, 2), 0, (0, 1)): ("product", (("var", "g"),), (("const", 2),)),
    ("div", (2, None), 1, (0, 1)): (
        "neg",
        ("product", (("var", "g"), ("var", "out")), (("var", "a1"),)),
    ),
    ("div", (None, -1), 0, (0, 1)): ("neg", ("var", "g")),
    ("div", (-1, None), 1, (0, 1)): (
        "product",
        (("var", "g"),),
        (("op", "pow", (("var", "a1"), ("const", 2))),),
    ),
    ("erf", (None,), 0, (0,)): (
        "product",
        (
            ("var", "g"),
            ("const", 2),
            ("op", "exp", (("neg", ("op", "pow", (("var", "a0"), ("const", 2)))),)),
        ),
        (("const", 1.772453850905516),),
    ),
    ("exp", (None,), 0, (0,)): ("product", (("var", "g"), ("var", "out")), ()),
    ("exp2", (None,), 0, (0,)): (
        "product",
        (("var", "g"), ("var", "out"), ("const", 0.6931471805599453)),
        (),
    ),
    ("expm1", (None,), 0, (0,)): ("product", (("var", "g"), ("op", "exp", (("var", "a0"),))), ()),
    ("fabs", (None,), 0, (0,)): ("product", (("var", "g"), ("op", "sign", (("var", "a0"),))), ()),
    ("float", (None,), 0, (0,)): ("var", "g"),
    ("floor", (None,), 0, (0,)): ("const", 0),
    ("floordiv", (None, None), 0, (0, 1)): ("const", 0),
    ("floordiv", (None, None), 1, (0, 1)): ("const", 0),
    ("floordiv", (None, None), 0, (0, 0)): ("const", 0),
    ("floordiv", (None, 0), 0, (0, 1)): ("const", float("nan")),
    ("floordiv", (0, None), 1, (0, 1)): ("const", 0),
    ("floordiv", (None, 1), 0, (0, 1)): ("const", 0),
    ("floordiv", (1, None), 1, (0, 1)): ("const", 0),
    ("floordiv", (None, 2), 0, (0, 1)): ("const", 0),
    ("floordiv", (2, None), 1, (0, 1)): ("const", 0),
    ("floordiv", (None, -1), 0, (0, 1)): ("const", 0),
    ("floordiv", (-1, None), 1, (0, 1)): ("const", 0),
    ("hypot", (None, None), 0, (0, 1)): (
        "product",
        (("var", "g"), ("var", "a0")),
        (("var", "out"),),
    ),
    ("hypot", (None, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("var", "a1")),
        (("var", "out"),),
    ),
    ("hypot", (None, None), 0, (0, 0)): (
        "product",
        (("var", "g"), ("const", 1.4142135623730951), ("op", "sign", (("var", "a0"),))),
        (),
    ),
    ("hypot", (None, 0), 0, (0, 1)): (
        "product",
        (("var", "g"), ("op", "sign", (("var", "a0"),))),
        (),
    ),
    ("hypot", (0, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("op", "sign", (("var", "a1"),))),
        (),
    ),
    ("hypot", (None, 1), 0, (0, 1)): ("product", (("var", "g"), ("var", "a0")), (("var", "out"),)),
    ("hypot", (1, None), 1, (0, 1)): ("product", (("var", "g"), ("var", "a1")), (("var", "out"),)),
    ("hypot", (None, 2), 0, (0, 1)): ("product", (("var", "g"), ("var", "a0")), (("var", "out"),)),
    ("hypot", (2, None), 1, (0, 1)): ("product", (("var", "g"), ("var", "a1")), (("var", "out"),)),
    ("hypot", (None, -1), 0, (0, 1)): ("product", (("var", "g"), ("var", "a0")), (("var", "out"),)),
    ("hypot", (-1, None), 1, (0, 1)): ("product", (("var", "g"), ("var", "a1")), (("var", "out"),)),
    ("log", (None,), 0, (0,)): ("product", (("var", "g"),), (("var", "a0"),)),
    ("log10", (None,), 0, (0,)): (
        "product",
        (("var", "g"),),
        (("var", "a0"), ("const", 2.302585092994046)),
    ),
    ("log1p", (None,), 0, (0,)): (
        "product",
        (("var", "g"),),
        (("sum", (("const", 1), ("var", "a0")), ()),),
    ),
    ("log2", (None,), 0, (0,)): (
        "product",
        (("var", "g"),),
        (("var", "a0"), ("const", 0.6931471805599453)),
    ),
    ("maximum", (None, None), 0, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("var", "a0"),), (("var", "a1"),)),))),
        (),
    ),
    ("maximum", (None, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("var", "a1"),), (("var", "a0"),)),))),
        (),
    ),
    ("maximum", (None, None), 0, (0, 0)): ("var", "g"),
    ("maximum", (None, 0), 0, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("var", "a0"),))),
        (),
    ),
    ("maximum", (0, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("var", "a1"),))),
        (),
    ),
    ("maximum", (None, 1), 0, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("var", "a0"),), (("const", 1),)),))),
        (),
    ),
    ("maximum", (1, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("var", "a1"),), (("const", 1),)),))),
        (),
    ),
    ("maximum", (None, 2), 0, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("var", "a0"),), (("const", 2),)),))),
        (),
    ),
    ("maximum", (2, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("var", "a1"),), (("const", 2),)),))),
        (),
    ),
    ("maximum", (None, -1), 0, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("const", 1), ("var", "a0")), ()),))),
        (),
    ),
    ("maximum", (-1, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("const", 1), ("var", "a1")), ()),))),
        (),
    ),
    ("minimum", (None, None), 0, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("var", "a1"),), (("var", "a0"),)),))),
        (),
    ),
    ("minimum", (None, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("var", "a0"),), (("var", "a1"),)),))),
        (),
    ),
    ("minimum", (None, None), 0, (0, 0)): ("var", "g"),
    ("minimum", (None, 0), 0, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("neg", ("var", "a0")),))),
        (),
    ),
    ("minimum", (0, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("neg", ("var", "a1")),))),
        (),
    ),
    ("minimum", (None, 1), 0, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("const", 1),), (("var", "a0"),)),))),
        (),
    ),
    ("minimum", (1, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("const", 1),), (("var", "a1"),)),))),
        (),
    ),
    ("minimum", (None, 2), 0, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("const", 2),), (("var", "a0"),)),))),
        (),
    ),
    ("minimum", (2, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("sum", (("const", 2),), (("var", "a1"),)),))),
        (),
    ),
    ("minimum", (None, -1), 0, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("neg", ("sum", (("const", 1), ("var", "a0")), ())),))),
        (),
    ),
    ("minimum", (-1, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("op", "step", (("neg", ("sum", (("const", 1), ("var", "a1")), ())),))),
        (),
    ),
    ("mod", (None, None), 0, (0, 1)): ("var", "g"),
    ("mod", (None, None), 1, (0, 1)): (
        "neg",
        (
            "product",
            (("var", "g"), ("op", "floor", (("product", (("var", "a0"),), (("var", "a1"),)),))),
            (),
        ),
    ),
    ("mod", (None, None), 0, (0, 0)): ("const", 0),
    ("mod", (None, 0), 0, (0, 1)): ("var", "g"),
    ("mod", (0, None), 1, (0, 1)): ("const", 0),
    ("mod", (None, 1), 0, (0, 1)): ("var", "g"),
    ("mod", (1, None), 1, (0, 1)): (
        "neg",
        ("product", (("var", "g"), ("op", "floor", (("recip", ("var", "a1")),))), ()),
    ),
    ("mod", (None, 2), 0, (0, 1)): ("var", "g"),
    ("mod", (2, None), 1, (0, 1)): (
        "neg",
        (
            "product",
            (("var", "g"), ("op", "floor", (("product", (("const", 2),), (("var", "a1"),)),))),
            (),
        ),
    ),
    ("mod", (None, -1), 0, (0, 1)): ("var", "g"),
    ("mod", (-1, None), 1, (0, 1)): (
        "neg",
        ("product", (("var", "g"), ("op", "floor", (("neg", ("recip", ("var", "a1"))),))), ()),
    ),
    ("mul", (None, None), 0, (0, 1)): ("product", (("var", "g"), ("var", "a1")), ()),
    ("mul", (None, None), 1, (0, 1)): ("product", (("var", "g"), ("var", "a0")), ()),
    ("mul", (None, None), 0, (0, 0)): ("product", (("var", "g"), ("const", 2), ("var", "a0")), ()),
    ("mul", (None, 0), 0, (0, 1)): ("const", 0),
    ("mul", (0, None), 1, (0, 1)): ("const", 0),
    ("mul", (None, 1), 0, (0, 1)): ("var", "g"),
    ("mul", (1, None), 1, (0, 1)): ("var", "g"),
    ("mul", (None, 2), 0, (0, 1)): ("product", (("var", "g"), ("const", 2)), ()),
    ("mul", (2, None), 1, (0, 1)): ("product", (("var", "g"), ("const", 2)), ()),
    ("mul", (None, -1), 0, (0, 1)): ("neg", ("var", "g")),
    ("mul", (-1, None), 1, (0, 1)): ("neg", ("var", "g")),
    ("neg", (None,), 0, (0,)): ("neg", ("var", "g")),
    ("pos", (None,), 0, (0,)): ("var", "g"),
    ("pow", (None, None), 0, (0, 1)): (
        "product",
        (
            ("var", "g"),
            ("var", "a1"),
            (
                "op",
                "pow",
                (
                    ("var", "a0"),
                    (
                        "op",
                        "where",
                        (
                            ("op", "ne", (("var", "a1"), ("const", 0))),
                            ("sum", (("var", "a1"),), (("const", 1),)),
                            ("const", 1),
                        ),
                    ),
                ),
            ),
        ),
        (),
    ),
    ("pow", (None, None), 1, (0, 1)): (
        "product",
        (
            ("var", "g"),
            ("var", "out"),
            (
                "op",
                "log",
                (
                    (
                        "op",
                        "where",
                        (("op", "ne", (("var", "a0"), ("const", 0))), ("var", "a0"), ("const", 1)),
                    ),
                ),
            ),
        ),
        (),
    ),
    ("pow", (None, None), 0, (0, 0)): (
        "product",
        (
            ("var", "g"),
            (
                "sum",
                (
                    (
                        "op",
                        "pow",
                        (
                            ("var", "a0"),
                            (
                                "sum",
                                (
                                    ("const", 1),
                                    (
                                        "op",
                                        "where",
                                        (
                                            ("op", "ne", (("var", "a0"), ("const", 0))),
                                            ("sum", (("var", "a0"),), (("const", 1),)),
                                            ("const", 1),
                                        ),
                                    ),
                                ),
                                (),
                            ),
                        ),
                    ),
                    (
                        "product",
                        (
                            ("var", "out"),
                            (
                                "op",
                                "log",
                                (
                                    (
                                        "op",
                                        "where",
                                        (
                                            ("op", "ne", (("var", "a0"), ("const", 0))),
                                            ("var", "a0"),
                                            ("const", 1),
                                        ),
                                    ),
                                ),
                            ),
                        ),
                        (),
                    ),
                ),
                (),
            ),
        ),
        (),
    ),
    ("pow", (None, 0), 0, (0, 1)): ("const", 0),
    ("pow", (0, None), 1, (0, 1)): ("const", 0),
    ("pow", (None, 1), 0, (0, 1)): ("var", "g"),
    ("pow", (1, None), 1, (0, 1)): ("const", 0),
    ("pow", (None, 2), 0, (0, 1)): ("product", (("var", "g"), ("const", 2), ("var", "a0")), ()),
    ("pow", (2, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("var", "out"), ("const", 0.6931471805599453)),
        (),
    ),
    ("pow", (None, -1), 0, (0, 1)): (
        "neg",
        ("product", (("var", "g"),), (("op", "pow", (("var", "a0"), ("const", 2))),)),
    ),
    ("pow", (None, 3), 0, (0, 1)): (
        "product",
        (("var", "g"), ("const", 3), ("op", "pow", (("var", "a0"), ("const", 2)))),
        (),
    ),
    ("pow", (3, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("var", "out"), ("const", 1.0986122886681098)),
        (),
    ),
    ("pow", (None, 4), 0, (0, 1)): (
        "product",
        (("var", "g"), ("const", 4), ("op", "pow", (("var", "a0"), ("const", 3)))),
        (),
    ),
    ("pow", (4, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("var", "out"), ("const", 1.3862943611198906)),
        (),
    ),
    ("pow", (None, -2), 0, (0, 1)): (
        "neg",
        ("product", (("var", "g"), ("const", 2)), (("op", "pow", (("var", "a0"), ("const", 3))),)),
    ),
    ("pow", (None, 0.5), 0, (0, 1)): (
        "product",
        (("var", "g"), ("const", 0.5)),
        (("op", "pow", (("var", "a0"), ("const", 0.5))),),
    ),
    ("pow", (0.5, None), 1, (0, 1)): (
        "neg",
        ("product", (("var", "g"), ("const", 0.6931471805599453), ("var", "out")), ()),
    ),
    ("pow", (None, -0.5), 0, (0, 1)): (
        "neg",
        (
            "product",
            (("var", "g"), ("const", 0.5)),
            (("op", "pow", (("var", "a0"), ("const", 1.5))),),
        ),
    ),
    ("pow", (None, 1.5), 0, (0, 1)): (
        "product",
        (("var", "g"), ("const", 1.5), ("op", "pow", (("var", "a0"), ("const", 0.5)))),
        (),
    ),
    ("pow", (1.5, None), 1, (0, 1)): (
        "product",
        (("var", "g"), ("const", 0.4054651081081644), ("var", "out")),
        (),
    ),
    ("rad2deg", (None,), 0, (0,)): (
        "product",
        (("var", "g"), ("const", 180)),
        (("const", 3.141592653589793),),
    ),
    ("reciprocal", (None,), 0, (0,)): (
        "neg",
        ("product", (("var", "g"),), (("op", "pow", (("var", "a0"), ("const", 2))),)),
    ),
    ("sign", (None,), 0, (0,)): ("const", 0),
    ("sin", (None,), 0, (0,)): ("product", (("var", "g"), ("op", "cos", (("var", "a0"),))), ()),
    ("sinh", (None,), 0, (0,)): ("product", (("var", "g"), ("op", "cosh", (("var", "a0"),))), ()),
    ("sqrt", (None,), 0, (0,)): ("product", (("var", "g"),), (("const", 2), ("var", "out"))),
    ("square", (None,), 0, (0,)): ("product", (("var", "g"), ("const", 2), ("var", "a0")), ()),
    ("step", (None,), 0, (0,)): ("const", 0),
    ("sub", (None, None), 0, (0, 1)): ("var", "g"),
    ("sub", (None, None), 1, (0, 1)): ("neg", ("var", "g")),
    ("sub", (None, None), 0, (0, 0)): ("const", 0),
    ("sub", (None, 0), 0, (0, 1)): ("var", "g"),
    ("sub", (0, None), 1, (0, 1)): ("neg", ("var", "g")),
    ("sub", (None, 1), 0, (0, 1)): ("var", "g"),
    ("sub", (1, None), 1, (0, 1)): ("neg", ("var", "g")),
    ("sub", (None, 2), 0, (0, 1)): ("var", "g"),
    ("sub", (2, None), 1, (0, 1)): ("neg", ("var", "g")),
    ("sub", (None, -1), 0, (0, 1)): ("var", "g"),
    ("sub", (-1, None), 1, (0, 1)): ("neg", ("var", "g")),
    ("tan", (None,), 0, (0,)): (
        "product",
        (("var", "g"), ("sum", (("const", 1), ("op", "pow", (("var", "out"), ("const", 2)))), ())),
        (),
    ),
    ("tanh", (None,), 0, (0,)): (
        "product",
        (("var", "g"), ("sum", (("const", 1),), (("op", "pow", (("var", "out"), ("const", 2))),))),
        (),
    ),
}
