def mix(rows):
    totals = {}
    for row in rows:
        key = row[0]
        if key in totals:
            totals[key] = totals[key] + row[1]
        elif key == "x":
            totals[key] = 0
        else:
            totals[key] = row[1] * 2.5
    return [totals, len(rows), "a,b".split(",")]
