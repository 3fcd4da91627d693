/// SplitMix64: a small, fast, seedable generator, so a seed fixes a model.
struct RandomSource: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Nearby seeds must not give shifted copies of one stream (a plain
    /// `seed × φ` start does: seed + 1 is the same stream one step later), so
    /// the seed goes through the finalizer first.
    init(seed: UInt64) { state = Self.mix(seed ^ 0x2545_F491_4F6C_DD1D) }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return z ^ (z >> 33)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
