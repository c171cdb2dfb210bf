"""paperlib.method.attributes: the 7 attributes, their classifier indices, EOGI's 17 classes."""

from paperlib.method.attributes import (ATTRIBUTES, CLASS_INDEX, EOGI17_INDEX, TABLE_ATTRIBUTES,
                                 class_index)


def test_attributes_and_indices():
    assert ATTRIBUTES == ("Beard", "Bushy_Eyebrows", "Eyeglasses", "Mouth_Open", "Narrow_Eyes", "Old", "Smiling")
    assert CLASS_INDEX == {"Beard": 0, "Bushy_Eyebrows": 1, "Eyeglasses": 2, "Mouth_Open": 3,
                           "Narrow_Eyes": 4, "Old": 5, "Smiling": 6}
    assert EOGI17_INDEX == {"Bushy_Eyebrows": 6, "Eyeglasses": 7, "Mouth_Open": 10, "Narrow_Eyes": 11,
                            "Beard": 12, "Smiling": 15, "Old": 16}
    assert TABLE_ATTRIBUTES == ("Beard", "Bushy_Eyebrows", "Old", "Smiling")
    assert class_index("Old") == 5 and class_index("Old", 17) == 16
