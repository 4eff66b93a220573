;; CRC-32C, slicing-by-16, for crc32c.ts. The module is embedded there as base64; crc32c.test.ts
;; checks that the embedded bytes are what this text assembles to (wabt's wat2wasm).
;;
;; Memory layout: tables t0..t15 at byte t*1024 (256 little-endian i32 each, written by the host),
;; the input after them. crc32c(p, n, c) continues checksum c over memory[p, p+n).
(module
  (memory (export "memory") 1)
  (func (export "crc32c") (param $p i32) (param $n i32) (param $c i32) (result i32)
    (local $end i32) (local $end16 i32) (local $a i32) (local $b i32) (local $d i32) (local $e i32)
    (local.set $c (i32.xor (local.get $c) (i32.const -1)))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (local.set $end16 (i32.sub (local.get $end) (i32.and (local.get $n) (i32.const 15))))
    ;; 16 bytes per step: byte j of the block indexes table 15-j.
    (block $done16
      (loop $blocks
        (br_if $done16 (i32.ge_u (local.get $p) (local.get $end16)))
        (local.set $a (i32.xor (local.get $c) (i32.load (local.get $p))))
        (local.set $b (i32.load offset=4 (local.get $p)))
        (local.set $d (i32.load offset=8 (local.get $p)))
        (local.set $e (i32.load offset=12 (local.get $p)))
        (local.set $c
          (i32.xor
            (i32.xor
              (i32.xor
                (i32.xor
                  (i32.load offset=15360 (i32.shl (i32.and (local.get $a) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=14336 (i32.shl (i32.and (i32.shr_u (local.get $a) (i32.const 8)) (i32.const 255)) (i32.const 2))))
                (i32.xor
                  (i32.load offset=13312 (i32.shl (i32.and (i32.shr_u (local.get $a) (i32.const 16)) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=12288 (i32.shl (i32.shr_u (local.get $a) (i32.const 24)) (i32.const 2)))))
              (i32.xor
                (i32.xor
                  (i32.load offset=11264 (i32.shl (i32.and (local.get $b) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=10240 (i32.shl (i32.and (i32.shr_u (local.get $b) (i32.const 8)) (i32.const 255)) (i32.const 2))))
                (i32.xor
                  (i32.load offset=9216 (i32.shl (i32.and (i32.shr_u (local.get $b) (i32.const 16)) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=8192 (i32.shl (i32.shr_u (local.get $b) (i32.const 24)) (i32.const 2))))))
            (i32.xor
              (i32.xor
                (i32.xor
                  (i32.load offset=7168 (i32.shl (i32.and (local.get $d) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=6144 (i32.shl (i32.and (i32.shr_u (local.get $d) (i32.const 8)) (i32.const 255)) (i32.const 2))))
                (i32.xor
                  (i32.load offset=5120 (i32.shl (i32.and (i32.shr_u (local.get $d) (i32.const 16)) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=4096 (i32.shl (i32.shr_u (local.get $d) (i32.const 24)) (i32.const 2)))))
              (i32.xor
                (i32.xor
                  (i32.load offset=3072 (i32.shl (i32.and (local.get $e) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=2048 (i32.shl (i32.and (i32.shr_u (local.get $e) (i32.const 8)) (i32.const 255)) (i32.const 2))))
                (i32.xor
                  (i32.load offset=1024 (i32.shl (i32.and (i32.shr_u (local.get $e) (i32.const 16)) (i32.const 255)) (i32.const 2)))
                  (i32.load (i32.shl (i32.shr_u (local.get $e) (i32.const 24)) (i32.const 2))))))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $blocks)))
    ;; The remaining 0-15 bytes one at a time, with t0.
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c
          (i32.xor
            (i32.load (i32.shl (i32.and (i32.xor (local.get $c) (i32.load8_u (local.get $p))) (i32.const 255)) (i32.const 2)))
            (i32.shr_u (local.get $c) (i32.const 8))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $bytes)))
    (i32.xor (local.get $c) (i32.const -1))))
